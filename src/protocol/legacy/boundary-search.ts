import { isMessageType, padBytesClear } from "./frame-check.js";
import { LEGACY_RESPONSE_FIELDS_OFFSET, type LegacyFrameBytes } from "./layout.js";

/**
 * Quarantine: after the frame grid is lost, reads and discards bytes until a plausible frame boundary,
 * where decoding resumes (docs/PROTOCOL.md L4).
 *
 * A position p is plausible when the frame-sized window at p passes the decoder's checks (type byte
 * 1..12, pad bytes 1..3 and 17..19 zero, bytes 40..end zero) *and* the byte right after the window is
 * non-zero (the next frame's type byte, or more garbage), or the peer has gone idle or ended the stream
 * with the window as its last bytes.
 *
 * Why that finds the real grid: in a stream of valid request frames the only plausible positions are
 * on the grid. A window starting d bytes into a frame (0 < d < F) either starts inside that frame's
 * zeroed response fields (d >= 40: type byte 0), or, for d < 40 and F >= 112, covers the next frame's
 * non-zero type byte inside its own response fields (at window offset F - d >= 72). For the 72-byte
 * layout the same holds for d <= 32; a window starting in the timestamp (d = 33..39) has its response
 * fields over the next frame's bytes 1..39, which hold that frame's pid and size, so it passes only
 * where those are zero and the timestamp reads as a type byte followed by three zero bytes.
 * The look-ahead byte guards the one place where a window can reach into valid frames from garbage: a
 * window starting j < 40 bytes before a real frame passes the checks if that frame's bytes 40 - j..39
 * are zero (a FREE carries no timestamp), but its look-ahead byte then falls at offset F - j of the real
 * frame, in its zeroed response fields, so it is refused (for F >= 112; for 72, j <= 32). A real frame
 * is followed by a non-zero byte: the next frame's type, or garbage (a frame between two runs of
 * garbage is found too, unless the second run starts with a zero byte).
 *
 * Bounded: holds at most two frames' worth of bytes (one window and its look-ahead byte, compacted
 * every F bytes), and each byte costs O(1): the response-fields check is "the last non-zero byte before
 * the window's end lies before its offset 40".
 */
export class FrameBoundarySearch {
  private readonly buffer: Uint8Array;
  private held = 0;
  /** Index in `buffer` of the last non-zero byte held, -1 when none. */
  private lastNonZero = -1;
  /** Stream offset of buffer[0]. */
  private baseOffset = 0;
  /** Stream offset where the grid was lost (the start of the frame that failed). */
  private lostAtOffset = 0;
  private foundAt = -1;

  constructor(private readonly frame: LegacyFrameBytes) {
    this.buffer = new Uint8Array(2 * frame);
  }

  /**
   * Starts a search after the frame at stream offset `lostAtOffset` failed: its bytes after the first
   * (`failed[from .. to)`) are the first candidates, since the real next frame may start inside it.
   */
  start(lostAtOffset: number, failed: Uint8Array, from: number, to: number): void {
    this.held = 0;
    this.lastNonZero = -1;
    this.foundAt = -1;
    this.lostAtOffset = lostAtOffset;
    this.baseOffset = lostAtOffset + 1;
    for (let at = from; at < to; at++) this.append(failed[at]!);
  }

  /**
   * Takes bytes from `chunk` at `from` until a boundary is found or the chunk is used up; returns the
   * position after the last byte taken. Once `found`, `frameAt` is the window's index in `bytes`.
   */
  take(chunk: Uint8Array, from: number): number {
    let at = from;
    while (at < chunk.length && this.foundAt < 0) this.append(chunk[at++]!);
    return at;
  }

  /** True when the last bytes held form a plausible window without look-ahead (see `idle`). */
  get awaitingIdle(): boolean {
    return this.foundAt < 0 && this.held >= this.frame && this.plausible(this.held - this.frame, this.held);
  }

  /** The peer went quiet or ended the stream: the last window held is accepted if plausible. */
  idle(): void {
    if (this.awaitingIdle) this.foundAt = this.held - this.frame;
  }

  get found(): boolean {
    return this.foundAt >= 0;
  }

  /** The bytes held; the frame found starts at `frameAt`, and what follows it is the next frame's start. */
  get bytes(): Uint8Array {
    return this.buffer;
  }

  get frameAt(): number {
    return this.foundAt;
  }

  get heldBytes(): number {
    return this.held;
  }

  /** Stream offset of the frame found. */
  get frameOffset(): number {
    return this.baseOffset + this.foundAt;
  }

  /** Bytes discarded from where the grid was lost to the frame found. */
  get discardedBytes(): number {
    return this.frameOffset - this.lostAtOffset;
  }

  private append(byte: number): void {
    if (this.held === this.buffer.length) this.compact();
    const index = this.held++;
    this.buffer[index] = byte;
    // The window ending just before this byte, with this byte as its look-ahead.
    const candidate = index - this.frame;
    if (candidate >= 0 && byte !== 0 && this.plausible(candidate, index)) {
      this.foundAt = candidate;
    }
    if (byte !== 0) this.lastNonZero = index;
  }

  /** The window [at, at + frame), given that `lastNonZero` covers the bytes before `end`. */
  private plausible(at: number, end: number): boolean {
    const b = this.buffer;
    return (
      end - at === this.frame &&
      isMessageType(b[at]!) &&
      padBytesClear(b, at) &&
      this.lastNonZero < at + LEGACY_RESPONSE_FIELDS_OFFSET
    );
  }

  /** Keeps the last `frame` bytes (the next window); the rest was already ruled out. */
  private compact(): void {
    const drop = this.held - this.frame;
    this.buffer.copyWithin(0, drop, this.held);
    this.held -= drop;
    this.baseOffset += drop;
    this.lastNonZero = this.lastNonZero >= drop ? this.lastNonZero - drop : -1;
  }
}
