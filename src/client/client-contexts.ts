import { encodeContext } from "../protocol/encode-frame.js";
import { MAX_CONTEXT_BYTES } from "../protocol/layout.js";
import { decodeUtf8, encodeUtf8 } from "../protocol/utf8.js";

/**
 * Most contexts one client defines; later new texts are reported without a context (and counted). The
 * server's default limit per session is the same (docs/PROTOCOL.md §3.8).
 */
export const MAX_CLIENT_CONTEXTS = 4096;

/**
 * The client's side of allocation contexts (protocol version 3): interns each context text once as a
 * small id (1, 2, 3 ...) with its CONTEXT frame, and remembers the context of every live allocation that
 * has one, so that a snapshot can state it again (after a reconnect, to a restarted server). Bounded:
 * at most MAX_CLIENT_CONTEXTS texts, and one map entry per live allocation with a context.
 */
export class ClientContexts {
  private readonly ids = new Map<string, number>();
  private readonly frames: Uint8Array[] = [];
  /** deviceId → allocationId → context id, for live allocations that have one. */
  private readonly live = new Map<number, Map<number, number>>();
  private liveCount = 0;
  /** The CONTEXT frame of the last new text, until taken. */
  private fresh: Uint8Array | undefined;
  /** Texts not defined because MAX_CLIENT_CONTEXTS were already. */
  dropped = 0;

  /** Contexts defined so far. */
  get size(): number {
    return this.frames.length;
  }

  /**
   * The id of `text` ("" = 0, no context), defining it on first use: its CONTEXT frame is then waiting
   * in `takeFresh()`. A text longer than the wire's 256 bytes is cut at a character boundary.
   */
  idOf(text: string): number {
    if (text === "") return 0;
    const known = this.ids.get(text);
    if (known !== undefined) return known;
    if (this.frames.length >= MAX_CLIENT_CONTEXTS) {
      this.dropped++;
      return 0;
    }
    const id = this.frames.length + 1;
    const frame = encodeContext({ contextId: id, text: fitted(text) });
    this.frames.push(frame);
    this.ids.set(text, id);
    this.fresh = frame;
    return id;
  }

  /** The CONTEXT frame `idOf` just defined, once; undefined when it defined none. */
  takeFresh(): Uint8Array | undefined {
    const frame = this.fresh;
    this.fresh = undefined;
    return frame;
  }

  /** Every definition, in id order: what a new connection sends before anything that cites them. */
  definitions(): readonly Uint8Array[] {
    return this.frames;
  }

  /** Follows one allocator change: an ALLOC with a context is remembered, a FREE forgets it. */
  track(op: number, deviceId: number, allocationId: number, contextId: number): void {
    if (op === 1) {
      if (contextId === 0) return;
      let byId = this.live.get(deviceId);
      if (byId === undefined) {
        byId = new Map();
        this.live.set(deviceId, byId);
      }
      if (!byId.has(allocationId)) this.liveCount++;
      byId.set(allocationId, contextId);
    } else if (this.liveCount > 0 && this.live.get(deviceId)?.delete(allocationId) === true) {
      this.liveCount--;
    }
  }

  /** The context id of a live allocation (0 = none), for snapshots. */
  contextOf(deviceId: number, allocationId: number): number {
    if (this.liveCount === 0) return 0;
    return this.live.get(deviceId)?.get(allocationId) ?? 0;
  }
}

/** `text` cut to at most MAX_CONTEXT_BYTES of UTF-8, at a character boundary. */
function fitted(text: string): string {
  const bytes = encodeUtf8(text);
  if (bytes.length <= MAX_CONTEXT_BYTES) return text;
  let end = MAX_CONTEXT_BYTES;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return decodeUtf8(bytes.subarray(0, end)) ?? "";
}
