// The decoder of the server's live stream (`GET /api/v1/stream`, Server-Sent Events, docs/API.md): text
// arrives in chunks cut anywhere; messages are `event:` and `data:` lines ended by a blank line;
// comments (`: ping`) keep the connection alive and carry nothing.

export interface SseMessage {
  /** The `event:` field ("message" when absent). */
  event: string;
  /** The `data:` lines joined by "\n". */
  data: string;
}

/** Bytes of one message the decoder holds at most (the server's summaries are far smaller). */
export const MAX_SSE_MESSAGE_CHARS = 16 * 1024 * 1024;

/** A message longer than MAX_SSE_MESSAGE_CHARS: the stream is not the server's (or is broken). */
export class SseMessageTooLongError extends Error {
  readonly code = "MONITOR_SSE_MESSAGE_TOO_LONG";
  constructor() {
    super(`a stream message passed ${MAX_SSE_MESSAGE_CHARS} characters`);
    this.name = "SseMessageTooLongError";
  }
}

/** Feeds on chunks of the stream's text; returns the messages each chunk completes. */
export class SseDecoder {
  private pending = "";

  constructor(private readonly maxChars = MAX_SSE_MESSAGE_CHARS) {}

  push(chunk: string): SseMessage[] {
    this.pending += chunk;
    const messages: SseMessage[] = [];
    for (;;) {
      const end = blockEnd(this.pending);
      if (end === undefined) break;
      const block = this.pending.slice(0, end.at);
      this.pending = this.pending.slice(end.at + end.length);
      const message = parseBlock(block);
      if (message !== undefined) messages.push(message);
    }
    if (this.pending.length > this.maxChars) {
      this.pending = "";
      throw new SseMessageTooLongError();
    }
    return messages;
  }
}

/** Where the first blank line (the end of a block) is: "\n\n", "\r\n\r\n" or "\r\r". */
function blockEnd(text: string): { at: number; length: number } | undefined {
  const normalized = text.search(/\r\n\r\n|\n\n|\r\r/);
  if (normalized < 0) return undefined;
  const length = text.startsWith("\r\n\r\n", normalized) ? 4 : 2;
  return { at: normalized, length };
}

function parseBlock(block: string): SseMessage | undefined {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split(/\r\n|\n|\r/)) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (data.length === 0) return undefined;
  return { event, data: data.join("\n") };
}
