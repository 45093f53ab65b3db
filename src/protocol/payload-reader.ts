import { ProtocolError, ProtocolErrorCode } from "./errors.js";
import { readU16, readU32, readU64 } from "./little-endian.js";
import { decodeUtf8 } from "./utf8.js";

/**
 * Sequential reader over one frame body for the rare, small frames (HELLO, snapshots, errors...).
 * It throws ProtocolError on the first bad field; decodeFrameBody turns that into a return value, so
 * the throw never leaves the protocol layer. EVENTS does not use it (see decode-frame.ts).
 */
export class PayloadReader {
  offset: number;

  constructor(
    private readonly bytes: Uint8Array,
    offset: number,
    private readonly frameName: string,
  ) {
    this.offset = offset;
  }

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  private need(count: number, field: string): number {
    if (this.remaining < count) {
      throw new ProtocolError(
        ProtocolErrorCode.FRAME_TOO_SHORT,
        `${this.frameName}: frame ends at byte ${this.bytes.length} before ${field} (${count} bytes at ${this.offset})`,
      );
    }
    const at = this.offset;
    this.offset += count;
    return at;
  }

  u8(field: string): number {
    return this.bytes[this.need(1, field)];
  }

  u16(field: string): number {
    return readU16(this.bytes, this.need(2, field));
  }

  u32(field: string): number {
    return readU32(this.bytes, this.need(4, field));
  }

  u64(field: string): number {
    const value = readU64(this.bytes, this.need(8, field));
    if (value < 0) {
      throw new ProtocolError(ProtocolErrorCode.U64_OUT_OF_RANGE, `${this.frameName}: ${field} is >= 2^53`);
    }
    return value;
  }

  /** A view (no copy) of the next `count` bytes. */
  bytesView(count: number, field: string): Uint8Array {
    const at = this.need(count, field);
    return this.bytes.subarray(at, at + count);
  }

  /** A u16 byte length, then that many bytes of UTF-8, at most `maxBytes`. */
  string(maxBytes: number, field: string): string {
    const length = this.u16(`${field} length`);
    if (length > maxBytes) {
      throw new ProtocolError(
        ProtocolErrorCode.STRING_TOO_LONG,
        `${this.frameName}: ${field} is ${length} bytes, limit ${maxBytes}`,
      );
    }
    const text = decodeUtf8(this.bytesView(length, field));
    if (text === undefined) {
      throw new ProtocolError(ProtocolErrorCode.BAD_UTF8, `${this.frameName}: ${field} is not valid UTF-8`);
    }
    return text;
  }

  end(): void {
    if (this.remaining !== 0) {
      throw new ProtocolError(
        ProtocolErrorCode.LENGTH_MISMATCH,
        `${this.frameName}: ${this.remaining} unexpected bytes after the last field`,
      );
    }
  }
}
