// A Server-Sent Events reader for the live stream tests: every message with its arrival time, the
// comments (heartbeats), and when the server ends the stream.
import { request } from "node:http";

export interface StreamMessage {
  type: string;
  // biome-ignore lint/suspicious/noExplicitAny: test probe of arbitrary JSON messages
  data: any;
  atMs: number;
}

export class SseClient {
  readonly messages: StreamMessage[] = [];
  comments = 0;
  status = 0;
  /** Resolves when the response ends (cleanly: `endedCleanly`) or the connection drops. */
  readonly closed: Promise<void>;
  endedCleanly = false;
  private buffered = "";
  private destroyRequest: () => void = () => {};

  private constructor(url: string) {
    this.closed = new Promise((resolve) => {
      const req = request(url, (response) => {
        this.status = response.statusCode ?? 0;
        response.setEncoding("utf8");
        response.on("data", (text: string) => this.feed(text));
        response.on("end", () => {
          this.endedCleanly = true;
        });
        response.on("close", () => resolve());
        response.on("error", () => resolve());
      });
      req.on("error", () => resolve());
      req.end();
      this.destroyRequest = () => req.destroy();
    });
  }

  /** Opens `${baseUrl}/api/v1/stream` and waits for the response headers. */
  static async open(baseUrl: string): Promise<SseClient> {
    const client = new SseClient(`${baseUrl}/api/v1/stream`);
    const deadline = Date.now() + 10_000;
    while (client.status === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    return client;
  }

  destroy(): void {
    this.destroyRequest();
  }

  private feed(text: string): void {
    this.buffered += text;
    for (let end = this.buffered.indexOf("\n\n"); end >= 0; end = this.buffered.indexOf("\n\n")) {
      const block = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 2);
      if (block.startsWith(":")) {
        this.comments++;
        continue;
      }
      let type = "message";
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) type = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      this.messages.push({ type, data: data === "" ? undefined : JSON.parse(data), atMs: performance.now() });
    }
  }
}
