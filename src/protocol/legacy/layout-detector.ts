import { isMessageType } from "./frame-check.js";
import { LEGACY_MAX_FRAME_BYTES, type LegacyFrameBytes } from "./layout.js";

/**
 * `--legacy-frame auto`: finds the layout from the first bytes of a connection (docs/PROTOCOL.md L4).
 * Offsets 0..39 are request fields in every layout and 40..71 response fields (zero in a request) in
 * every layout; after that the layouts differ, and the first non-zero byte where a second frame would
 * start decides:
 *
 * - byte 72 non-zero: it is the type byte of a second 72-byte frame (in 112 and 144 it lies in the
 *   first frame's zeroed response fields) → 72;
 * - bytes 73..111 must be zero (response fields of a 112 or 144 frame), then byte 112 non-zero: a
 *   second 112-byte frame starts there → 112;
 * - bytes 112..143 zero → 144 (decided once the whole first frame has arrived).
 *
 * A peer that sends one frame and waits for the reply (a monitor's query, `dump_remaining_buffers.py`'s
 * one DUMP_REMAINING) never sends the deciding byte: holding exactly 72 or 112 bytes when the peer goes
 * idle or ends the stream decides 72 or 112.
 *
 * Garbage first: a byte that breaks a rule (type not 1..12, a non-zero pad or response byte) means the
 * bytes held do not start a frame. They are dropped up to the next byte that could be a type byte and
 * the rules are run again from there. Each run costs at most the 144 bytes held, and every run drops at
 * least one byte, so the work per byte received is bounded; nothing beyond 144 bytes is ever held.
 */
export class LayoutDetector {
  /** The bytes held: a candidate first frame (and, once decided, the bytes after it). */
  readonly bytes = new Uint8Array(LEGACY_MAX_FRAME_BYTES);
  private held = 0;
  /** bytes[0 .. checked) obey the rules. */
  private checked = 0;
  private droppedBytes = 0;
  private chosen: LegacyFrameBytes | undefined;
  private chosenWhy = "";

  /** Bytes held (not yet decoded). */
  get length(): number {
    return this.held;
  }

  /** Bytes dropped as garbage before the candidate frame now held. */
  get dropped(): number {
    return this.droppedBytes;
  }

  get decision(): LegacyFrameBytes | undefined {
    return this.chosen;
  }

  get reason(): string {
    return this.chosenWhy;
  }

  /** True when holding exactly 72 or 112 valid bytes: an idle peer then decides the layout. */
  get awaitingIdle(): boolean {
    return this.chosen === undefined && (this.held === 72 || this.held === 112);
  }

  /**
   * Takes bytes from `chunk` at `from` until the layout is decided or the chunk is used up; returns the
   * position after the last byte taken.
   */
  take(chunk: Uint8Array, from: number): number {
    let at = from;
    while (at < chunk.length && this.chosen === undefined) {
      this.bytes[this.held++] = chunk[at++]!;
      this.settle();
    }
    return at;
  }

  /** The peer went quiet (or ended the stream): exactly 72 or 112 bytes held decide that layout. */
  idle(why: string): void {
    if (!this.awaitingIdle) return;
    const frame = this.held as 72 | 112;
    this.decide(frame, `the peer sent exactly ${frame} bytes, then ${why}`);
  }

  private settle(): void {
    while (this.checked < this.held && this.chosen === undefined) {
      if (this.obeys(this.checked)) this.checked++;
      else this.dropUpToNextTypeByte();
    }
  }

  /** Checks the byte at `index` and decides the layout at the deciding positions. */
  private obeys(index: number): boolean {
    const byte = this.bytes[index]!;
    if (index === 0) return isMessageType(byte);
    if (index <= 3 || (index >= 17 && index <= 19)) return byte === 0;
    if (index < 40) return true;
    if (index === 72 && byte !== 0) {
      this.decide(72, `byte 72 is ${byte}: the type byte of a second 72-byte frame`);
      return true;
    }
    if (index === 112 && byte !== 0) {
      this.decide(112, `byte 112 is ${byte}: the type byte of a second 112-byte frame`);
      return true;
    }
    if (byte !== 0) return false;
    if (index === LEGACY_MAX_FRAME_BYTES - 1) {
      this.decide(144, "bytes 72..143 are 0: the zeroed response fields of a 144-byte frame");
    }
    return true;
  }

  private dropUpToNextTypeByte(): void {
    let next = 1;
    while (next < this.held && !isMessageType(this.bytes[next]!)) next++;
    this.bytes.copyWithin(0, next, this.held);
    this.held -= next;
    this.droppedBytes += next;
    this.checked = 0;
  }

  private decide(frame: LegacyFrameBytes, why: string): void {
    this.chosen = frame;
    this.chosenWhy = why;
  }
}
