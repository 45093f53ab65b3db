import { readU32, readU64 } from "../little-endian.js";
import { LegacyProtocolError, LegacyProtocolErrorCode } from "./errors.js";
import {
  LEGACY_MAX_FRAME_BYTES,
  LEGACY_MAX_MESSAGE_TYPE,
  LEGACY_MESSAGE_TYPE_NAMES,
  LEGACY_RESPONSE_FIELDS_OFFSET,
  type LegacyFrameBytes,
  LegacyMessageType,
  LegacyOffset,
} from "./layout.js";
import { emptyLegacyMessage, type LegacyMessage } from "./message.js";

/** `--legacy-frame`: a fixed layout, or "auto" (detected from the first frame of each connection). */
export type LegacyFrameSetting = LegacyFrameBytes | "auto";

/** The original server closed a connection after 10 consecutive bad frames; we allow 10 per connection. */
export const DEFAULT_LEGACY_MAX_BAD_FRAMES = 10;

export interface LegacyDecoderOptions {
  frame: LegacyFrameSetting;
  /** The connection is declared failed at this many bad (skipped) frames. Default 10. */
  maxBadFrames?: number;
}

/** What the decoder reports. Callbacks must not throw (if one does, the decoder stops and rethrows). */
export interface LegacyDecoderSink {
  /** The layout in force, reported once before the first message. `reason` says why (auto-detection). */
  onLayout(frameBytes: LegacyFrameBytes, reason: string): void;
  /** A well-formed request. The object is reused for the next frame: copy what you keep. */
  onMessage(message: LegacyMessage): void;
  /** A frame on the grid that cannot be used: it was skipped and counted; decoding continues. */
  onBadFrame(error: LegacyProtocolError): void;
  /** The stream cannot be trusted any more: nothing after this is decoded. Close the connection. */
  onFatal(error: LegacyProtocolError): void;
}

/**
 * Auto-detection needs this many bytes: the first frame's 112 bytes plus the byte at offset 112.
 * Under the 144 hypothesis that byte lies in the first frame's response fields, which every request
 * carries as zeros; under the 112 hypothesis it is the second frame's type byte, never zero.
 */
const DETECT_BYTES = 113;

/**
 * Cuts a byte stream of original tt-metal `AllocMessage` frames into messages. A state machine over
 * arbitrary chunks: frames split at any byte boundary are reassembled; no allocation per frame.
 *
 * Resync rule: there is none, on purpose. The original server discarded one byte after a bad type byte
 * and tried again, which can take a position inside a frame for the start of one and misread the rest
 * of the stream. Here the stream is always cut on the frame grid (multiples of the frame size from the
 * first byte), and every frame is checked for what all clients of the original protocol guarantee
 * (they zero-fill the struct): type byte in 1..12, pad bytes zero, response fields (offset 40 on) zero
 * in a request. A frame that is on the grid but unusable (type 13..255 with everything else clean, or a
 * RESPONSE type sent to the server) is skipped whole and counted. Anything else means the grid itself is
 * wrong (the other layout, a client bug, not this protocol): the stream is failed at once, before any
 * misaligned bytes are read as a message, and the connection is closed.
 */
export class LegacyFrameDecoder {
  private readonly sink: LegacyDecoderSink;
  private readonly maxBadFrames: number;
  private frame: LegacyFrameBytes | undefined;
  private layoutReported = false;
  /** Holds a partial frame, or the first bytes while auto-detecting. */
  private readonly pending = new Uint8Array(LEGACY_MAX_FRAME_BYTES);
  private pendingBytes = 0;
  /** Bytes of the stream consumed as whole frames (for error offsets). */
  private consumedBytes = 0;
  private readonly message = emptyLegacyMessage();
  private failedWith: LegacyProtocolError | undefined;
  private badFrameCount = 0;
  private messageCount = 0;

  constructor(options: LegacyDecoderOptions, sink: LegacyDecoderSink) {
    const { frame } = options;
    if (frame !== 112 && frame !== 144 && frame !== "auto") {
      throw new LegacyProtocolError(
        LegacyProtocolErrorCode.INVALID_VALUE,
        `legacy frame setting must be 112, 144 or "auto", got ${String(frame)}`,
      );
    }
    const maxBadFrames = options.maxBadFrames ?? DEFAULT_LEGACY_MAX_BAD_FRAMES;
    if (!Number.isInteger(maxBadFrames) || maxBadFrames < 1) {
      throw new LegacyProtocolError(
        LegacyProtocolErrorCode.INVALID_VALUE,
        `maxBadFrames must be a positive integer, got ${maxBadFrames}`,
      );
    }
    this.sink = sink;
    this.maxBadFrames = maxBadFrames;
    this.frame = frame === "auto" ? undefined : frame;
  }

  /** The frame size in force, or undefined while auto-detection is still waiting for bytes. */
  get frameBytes(): LegacyFrameBytes | undefined {
    return this.frame;
  }

  /** Frames skipped so far. */
  get badFrames(): number {
    return this.badFrameCount;
  }

  /** Messages delivered so far. */
  get messages(): number {
    return this.messageCount;
  }

  /** The fatal error, once the stream has failed. */
  get failure(): LegacyProtocolError | undefined {
    return this.failedWith;
  }

  /** Bytes held waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /**
   * True when auto-detection holds exactly 112 bytes: either a whole 112-byte frame whose sender now
   * waits for a reply, or the start of a 144-byte frame. Call `idle()` once no bytes arrived for a while.
   */
  get awaitingIdleHint(): boolean {
    return this.frame === undefined && this.failedWith === undefined && this.pendingBytes === 112;
  }

  push(chunk: Uint8Array): void {
    if (this.failedWith !== undefined || chunk.length === 0) return;
    try {
      let position = 0;
      if (this.frame === undefined) {
        const take = Math.min(chunk.length, DETECT_BYTES - this.pendingBytes);
        this.pending.set(chunk.subarray(0, take), this.pendingBytes);
        this.pendingBytes += take;
        position = take;
        if (!this.detect(false)) return;
      }
      if (!this.layoutReported) this.reportLayout("fixed by configuration"); // auto: reported by choose()
      this.drainPending();
      if (this.failedWith !== undefined) return;
      this.cut(chunk, position);
    } catch (err) {
      this.failedWith ??= new LegacyProtocolError(
        LegacyProtocolErrorCode.DECODER_ABORTED,
        `a decoder callback threw: ${err instanceof Error ? err.message : String(err)}`,
      );
      throw err;
    }
  }

  /** The peer has sent nothing for a while: settles auto-detection when exactly 112 bytes are held. */
  idle(): void {
    if (!this.awaitingIdleHint) return;
    if (this.detect(true)) this.drainPending();
  }

  /** The stream ended. Reports a truncated frame if bytes are left over. */
  end(): void {
    if (this.failedWith !== undefined) return;
    if (this.frame === undefined) this.idle();
    if (this.failedWith !== undefined || this.pendingBytes === 0) return;
    this.fail(
      new LegacyProtocolError(
        LegacyProtocolErrorCode.TRUNCATED_FRAME,
        `the stream ended ${this.pendingBytes} bytes into a frame` +
          (this.frame === undefined ? " (layout not yet known)" : ` of ${this.frame} bytes`),
        this.consumedBytes,
      ),
    );
  }

  /**
   * Auto-detection over `pending`. Returns true once the layout is chosen (and reported).
   * Rule (see DETECT_BYTES): the first byte must be a message type; then byte 112 decides — non-zero:
   * a second frame starts there (112); zero: it is inside the first frame's zeroed response fields (144).
   * With exactly 112 bytes and an idle peer, the peer sent one 112-byte frame and awaits the reply.
   */
  private detect(idle: boolean): boolean {
    const first = this.pending[0];
    if (this.pendingBytes > 0 && (first === 0 || first > LEGACY_MAX_MESSAGE_TYPE)) {
      this.fail(
        new LegacyProtocolError(
          LegacyProtocolErrorCode.LAYOUT_UNDETECTED,
          `the first byte is ${first}, not a message type (1..12): not the legacy protocol`,
          0,
        ),
      );
      return false;
    }
    if (this.pendingBytes >= DETECT_BYTES) {
      const byte112 = this.pending[112];
      if (byte112 !== 0) {
        this.choose(112, `byte 112 is ${byte112}: the type byte of a second frame`);
      } else {
        this.choose(144, "byte 112 is 0: inside the zeroed response fields of a 144-byte frame");
      }
      return true;
    }
    if (idle && this.pendingBytes === 112) {
      this.choose(112, "the peer sent exactly 112 bytes, then waited");
      return true;
    }
    return false;
  }

  private choose(frame: LegacyFrameBytes, reason: string): void {
    this.frame = frame;
    this.layoutReported = true;
    this.sink.onLayout(frame, `auto-detected: ${reason}`);
  }

  private reportLayout(reason: string): void {
    if (this.layoutReported) return;
    this.layoutReported = true;
    this.sink.onLayout(this.frame!, reason);
  }

  /** Decodes whole frames held in `pending` (after detection it may hold up to 113 bytes). */
  private drainPending(): void {
    const frame = this.frame!;
    if (this.pendingBytes < frame) return;
    this.decodeFrame(this.pending, 0, frame);
    const rest = this.pendingBytes - frame;
    this.pending.copyWithin(0, frame, frame + rest);
    this.pendingBytes = rest;
  }

  private cut(chunk: Uint8Array, start: number): void {
    const frame = this.frame!;
    let position = start;
    if (this.pendingBytes > 0) {
      const take = Math.min(frame - this.pendingBytes, chunk.length - position);
      this.pending.set(chunk.subarray(position, position + take), this.pendingBytes);
      this.pendingBytes += take;
      position += take;
      if (this.pendingBytes < frame) return;
      this.pendingBytes = 0;
      this.decodeFrame(this.pending, 0, frame);
    }
    // Whole frames are decoded in place from the chunk: no copy on the common path.
    while (this.failedWith === undefined && chunk.length - position >= frame) {
      this.decodeFrame(chunk, position, frame);
      position += frame;
    }
    if (this.failedWith !== undefined) return;
    const rest = chunk.length - position;
    if (rest > 0) {
      this.pending.set(chunk.subarray(position), 0);
      this.pendingBytes = rest;
    }
  }

  private decodeFrame(bytes: Uint8Array, at: number, frame: LegacyFrameBytes): void {
    if (this.failedWith !== undefined) return;
    const streamOffset = this.consumedBytes;
    this.consumedBytes += frame;
    const type = bytes[at];
    const pads =
      bytes[at + 1] | bytes[at + 2] | bytes[at + 3] | bytes[at + 17] | bytes[at + 18] | bytes[at + 19];
    if (type === 0 || pads !== 0) {
      this.fail(
        new LegacyProtocolError(
          LegacyProtocolErrorCode.MALFORMED_FRAME,
          type === 0
            ? "type byte 0: the stream is not on the frame grid (wrong layout?)"
            : `non-zero pad bytes in a frame of type ${type}: the stream is not on the frame grid (wrong layout?)`,
          streamOffset,
        ),
      );
      return;
    }
    if (type === LegacyMessageType.RESPONSE || type === LegacyMessageType.DEVICE_INFO_RESPONSE) {
      this.badFrame(
        new LegacyProtocolError(
          LegacyProtocolErrorCode.UNEXPECTED_TYPE,
          `${LEGACY_MESSAGE_TYPE_NAMES[type]} (${type}) is a server-to-client frame; skipped`,
          streamOffset,
        ),
      );
      return;
    }
    for (let i = at + LEGACY_RESPONSE_FIELDS_OFFSET, end = at + frame; i < end; i++) {
      if (bytes[i] !== 0) {
        this.fail(
          new LegacyProtocolError(
            LegacyProtocolErrorCode.MALFORMED_FRAME,
            `a request of type ${type} carries data at offset ${i - at} (response fields must be zero): ` +
              "the stream is not on the frame grid (wrong layout?)",
            streamOffset,
          ),
        );
        return;
      }
    }
    if (type > LEGACY_MAX_MESSAGE_TYPE) {
      this.badFrame(
        new LegacyProtocolError(
          LegacyProtocolErrorCode.UNKNOWN_TYPE,
          `unknown message type ${type}; frame skipped`,
          streamOffset,
        ),
      );
      return;
    }
    const message = this.message;
    message.type = type as LegacyMessageType;
    message.deviceId = readU32(bytes, at + LegacyOffset.DEVICE_ID) | 0;
    message.sizeBytes = readU64(bytes, at + LegacyOffset.SIZE);
    message.bufferType = bytes[at + LegacyOffset.BUFFER_TYPE];
    message.processId = readU32(bytes, at + LegacyOffset.PROCESS_ID) | 0;
    message.bufferId = readU64(bytes, at + LegacyOffset.BUFFER_ID);
    this.messageCount++;
    this.sink.onMessage(message);
  }

  private badFrame(error: LegacyProtocolError): void {
    this.badFrameCount++;
    this.sink.onBadFrame(error);
    if (this.badFrameCount >= this.maxBadFrames) {
      this.fail(
        new LegacyProtocolError(
          LegacyProtocolErrorCode.TOO_MANY_BAD_FRAMES,
          `${this.badFrameCount} bad frames on this connection (limit ${this.maxBadFrames}); last: ${error.message}`,
          error.streamOffset,
        ),
      );
    }
  }

  private fail(error: LegacyProtocolError): void {
    this.failedWith = error;
    this.pendingBytes = 0;
    this.sink.onFatal(error);
  }
}
