import { decodeFrameBody } from "./decode-frame.js";
import { ProtocolError, ProtocolErrorCode } from "./errors.js";
import {
  carriesContexts,
  DEFAULT_MAX_FRAME_BYTES,
  type Frame,
  FrameType,
  PRE_CONTEXT_VERSION,
} from "./frames.js";
import { LENGTH_FIELD_BYTES, MIN_MAX_FRAME_BYTES } from "./layout.js";
import { readU32 } from "./little-endian.js";

export interface FrameDecoderOptions {
  /**
   * Largest accepted value of a frame's length field, bytes. Default and ceiling DEFAULT_MAX_FRAME_BYTES,
   * at least MIN_MAX_FRAME_BYTES.
   */
  maxFrameBytes?: number;
  /**
   * The protocol version in force until a HELLO or WELCOME on the stream names one (then that one is):
   * it decides whether allocation contexts may appear (version 3). Default PRE_CONTEXT_VERSION (2).
   */
  version?: number;
}

const INITIAL_BUFFER_BYTES = 4096;

/**
 * Incremental decoder for one native-protocol byte stream: a state machine that waits for the 4 length
 * bytes, then for that many body bytes. Feed it any chunking of the stream.
 *
 * - A frame that lies entirely inside one chunk is decoded in place (no copy); only frames split across
 *   chunks are assembled in an internal buffer, which grows with the bytes actually received and never
 *   beyond the frame limit. The limit is checked as soon as the length field is complete.
 * - Errors are returned, never thrown. After the first error the decoder stays failed and returns that
 *   same error from every later call.
 * - An exception thrown by `onFrame` propagates unchanged; the decoder is then failed with
 *   PROTO_DECODER_ABORTED (the rest of that chunk is not decoded).
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  private readonly lengthBytes = new Uint8Array(LENGTH_FIELD_BYTES);
  private lengthFilled = 0;
  /** Length field of the frame being read, or -1 while reading a length field. */
  private frameLength = -1;
  private buffer = new Uint8Array(0);
  private bufferFilled = 0;
  private failure: ProtocolError | undefined;
  /** The stream's version carries contexts (set by its HELLO or WELCOME). */
  private contexts: boolean;

  constructor(options: FrameDecoderOptions = {}) {
    this.contexts = carriesContexts(options.version ?? PRE_CONTEXT_VERSION);
    const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (
      !Number.isInteger(maxFrameBytes) ||
      maxFrameBytes < MIN_MAX_FRAME_BYTES ||
      maxFrameBytes > DEFAULT_MAX_FRAME_BYTES
    ) {
      throw new ProtocolError(
        ProtocolErrorCode.INVALID_VALUE,
        `maxFrameBytes must be an integer in [${MIN_MAX_FRAME_BYTES}, ${DEFAULT_MAX_FRAME_BYTES}], got ${maxFrameBytes}`,
      );
    }
    this.maxFrameBytes = maxFrameBytes;
  }

  /** The error the decoder failed with, if it has. */
  get error(): ProtocolError | undefined {
    return this.failure;
  }

  /** Bytes held for a frame split across chunks (capacity of the assembly buffer), for tests and metrics. */
  get bufferedCapacityBytes(): number {
    return this.buffer.length;
  }

  /** Bytes received of the frame not yet complete (its length field included); 0 between frames. */
  get bufferedBytes(): number {
    return this.frameLength < 0 ? this.lengthFilled : LENGTH_FIELD_BYTES + this.bufferFilled;
  }

  /** True when the decoder sits exactly between two frames. */
  get atFrameBoundary(): boolean {
    return this.failure === undefined && this.frameLength < 0 && this.lengthFilled === 0;
  }

  /**
   * Decodes every complete frame in `chunk` (plus bytes kept from earlier chunks), calling `onFrame` for
   * each in order. Returns the error that stopped decoding, or undefined. An EVENTS frame's `records`
   * is only valid during its `onFrame` call.
   */
  feed(chunk: Uint8Array, onFrame: (frame: Frame) => void): ProtocolError | undefined {
    if (this.failure !== undefined) return this.failure;
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      if (this.frameLength < 0) {
        let length: number;
        if (this.lengthFilled === 0 && end - pos >= LENGTH_FIELD_BYTES) {
          length = readU32(chunk, pos);
          pos += LENGTH_FIELD_BYTES;
        } else {
          while (this.lengthFilled < LENGTH_FIELD_BYTES && pos < end) {
            this.lengthBytes[this.lengthFilled++] = chunk[pos++];
          }
          if (this.lengthFilled < LENGTH_FIELD_BYTES) return undefined;
          this.lengthFilled = 0;
          length = readU32(this.lengthBytes, 0);
        }
        if (length === 0) {
          return this.fail(
            new ProtocolError(ProtocolErrorCode.EMPTY_FRAME, "frame length 0: a frame needs its type byte"),
          );
        }
        if (length > this.maxFrameBytes) {
          return this.fail(
            new ProtocolError(
              ProtocolErrorCode.FRAME_TOO_LARGE,
              `frame length ${length} exceeds the limit of ${this.maxFrameBytes} bytes`,
            ),
          );
        }
        this.frameLength = length;
        continue;
      }

      const length = this.frameLength;
      let body: Uint8Array;
      if (this.bufferFilled === 0 && end - pos >= length) {
        // Whole frame inside this chunk: decode in place.
        body = chunk.subarray(pos, pos + length);
        pos += length;
      } else {
        const take = Math.min(length - this.bufferFilled, end - pos);
        this.reserve(this.bufferFilled + take, length);
        this.buffer.set(chunk.subarray(pos, pos + take), this.bufferFilled);
        this.bufferFilled += take;
        pos += take;
        if (this.bufferFilled < length) return undefined;
        body = this.buffer.subarray(0, length);
        this.bufferFilled = 0;
      }
      this.frameLength = -1;

      const frame = decodeFrameBody(body, this.contexts);
      if (frame instanceof ProtocolError) return this.fail(frame);
      if (frame.type === FrameType.HELLO || frame.type === FrameType.WELCOME) {
        this.contexts = carriesContexts(frame.version);
      }
      try {
        onFrame(frame);
      } catch (error) {
        this.fail(
          new ProtocolError(
            ProtocolErrorCode.DECODER_ABORTED,
            `frame callback threw on a ${frameTypeName(frame.type)} frame`,
          ),
        );
        throw error;
      }
    }
    return undefined;
  }

  /**
   * Declares the end of the stream. Returns PROTO_TRUNCATED_FRAME if it stopped inside a frame (and the
   * decoder fails with it), the earlier error if the decoder had failed, or undefined.
   */
  end(): ProtocolError | undefined {
    if (this.failure !== undefined) return this.failure;
    if (this.frameLength >= 0 || this.lengthFilled > 0) {
      const detail =
        this.frameLength >= 0
          ? `${this.bufferFilled} of ${this.frameLength} frame bytes received`
          : `${this.lengthFilled} of ${LENGTH_FIELD_BYTES} length bytes received`;
      return this.fail(
        new ProtocolError(ProtocolErrorCode.TRUNCATED_FRAME, `stream ended mid-frame: ${detail}`),
      );
    }
    return undefined;
  }

  private fail(error: ProtocolError): ProtocolError {
    this.failure = error;
    // Nothing more will be decoded: let the assembly buffer go.
    this.buffer = new Uint8Array(0);
    this.bufferFilled = 0;
    return error;
  }

  /** Grows the assembly buffer to hold `needed` bytes, doubling, never beyond this frame's length. */
  private reserve(needed: number, frameLength: number): void {
    if (needed <= this.buffer.length) return;
    const capacity = Math.min(frameLength, Math.max(needed, this.buffer.length * 2, INITIAL_BUFFER_BYTES));
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.bufferFilled));
    this.buffer = grown;
  }
}

/** The name of a frame type number, e.g. "EVENTS", or "type N" for unknown numbers. */
export function frameTypeName(type: number): string {
  for (const [name, value] of Object.entries(FrameType)) {
    if (value === type) return name;
  }
  return `type ${type}`;
}

/**
 * Decodes a complete byte string in one go (tests, tools; not the server's path). EVENTS records are
 * copied so that the frames stay valid. `error` includes PROTO_TRUNCATED_FRAME for a trailing partial frame.
 */
export function decodeFrames(
  bytes: Uint8Array,
  options: FrameDecoderOptions = {},
): { frames: Frame[]; error: ProtocolError | undefined } {
  const decoder = new FrameDecoder(options);
  const frames: Frame[] = [];
  const error =
    decoder.feed(bytes, (frame) => {
      frames.push(frame.type === FrameType.EVENTS ? { ...frame, records: frame.records.slice() } : frame);
    }) ?? decoder.end();
  return { frames, error };
}
