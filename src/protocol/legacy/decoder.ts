import { FrameBoundarySearch } from "./boundary-search.js";
import { LegacyProtocolError, LegacyProtocolErrorCode } from "./errors.js";
import { FrameVerdict, frameVerdict, isCleanRequest, offGridReason } from "./frame-check.js";
import {
  isLegacyFrameBytes,
  LEGACY_MAX_FRAME_BYTES,
  LEGACY_MESSAGE_TYPE_NAMES,
  type LegacyFrameBytes,
  type LegacyMessageType,
  LegacyOffset,
} from "./layout.js";
import { LayoutDetector } from "./layout-detector.js";
import { emptyLegacyMessage, type LegacyMessage } from "./message.js";

/** `--legacy-frame`: a fixed layout, or "auto" (detected from the first bytes of each connection). */
export type LegacyFrameSetting = LegacyFrameBytes | "auto";

export interface LegacyDecoderOptions {
  frame: LegacyFrameSetting;
}

/** What the decoder reports. Callbacks must not throw (if one does, the decoder stops and rethrows). */
export interface LegacyDecoderSink {
  /** The layout in force, reported once before the first message. `reason` says why (auto-detection). */
  onLayout(frameBytes: LegacyFrameBytes, reason: string): void;
  /** A well-formed request. The object is reused for the next frame: copy what you keep. */
  onMessage(message: LegacyMessage): void;
  /** A frame on the grid that cannot be used: it was skipped and counted; decoding continues. */
  onBadFrame(error: LegacyProtocolError): void;
  /**
   * The frame grid is lost at `error.streamOffset` (or, before a layout is known, the first bytes start
   * no frame): bytes are discarded until a plausible frame boundary, where decoding resumes.
   */
  onQuarantine(error: LegacyProtocolError): void;
  /** Decoding resumed at stream offset `streamOffset`, after `discardedBytes` bytes were discarded. */
  onResync(discardedBytes: number, streamOffset: number): void;
  /** The stream ended inside a frame (or before its layout was known): those bytes are dropped. */
  onTruncated(error: LegacyProtocolError): void;
}

const Mode = { DETECTING: 0, SYNC: 1, QUARANTINE: 2, ABORTED: 3 } as const;
type Mode = (typeof Mode)[keyof typeof Mode];

/**
 * Cuts a byte stream of original tt-metal `AllocMessage` frames into messages. A state machine over
 * arbitrary chunks: frames split at any byte boundary are reassembled; no allocation per frame.
 *
 * The stream is cut on the frame grid, and every frame is checked for what all clients of the original
 * protocol guarantee (frame-check.ts). A frame on the grid that is unusable (type 13..255 with
 * everything else clean, or a RESPONSE type sent to the server) is skipped whole and counted. Anything
 * else means the grid is lost (garbage, a client bug, a partial write): the decoder never gives up on
 * the stream (closing it would kill a tt-metal client with SIGPIPE), it quarantines it instead —
 * discards bytes until a plausible frame boundary (boundary-search.ts) and resumes there. The original
 * server's resync discarded one byte and took the next byte 1..12 for a frame start, misreading
 * whatever followed; here a boundary needs a whole clean frame and the next frame's type byte.
 *
 * Bounded: at most one frame is held while reassembling, 144 bytes while detecting the layout, and one
 * frame plus one byte (in a buffer of two frames) while in quarantine; the work per byte is bounded in
 * every state.
 */
export class LegacyFrameDecoder {
  private readonly sink: LegacyDecoderSink;
  private frame: LegacyFrameBytes | undefined;
  private mode: Mode;
  private layoutReported = false;
  private readonly detector: LayoutDetector | undefined;
  private search: FrameBoundarySearch | undefined;
  /** Holds a partial frame while in sync. */
  private readonly pending = new Uint8Array(LEGACY_MAX_FRAME_BYTES);
  private readonly pendingView = new DataView(this.pending.buffer);
  private pendingBytes = 0;
  /** Stream offset of the next frame to cut (in sync). */
  private gridOffset = 0;
  private readonly message = emptyLegacyMessage();
  private badFrameCount = 0;
  private messageCount = 0;
  private quarantineCount = 0;
  private discardedByteCount = 0;
  private detectionQuarantined = false;

  constructor(options: LegacyDecoderOptions, sink: LegacyDecoderSink) {
    const { frame } = options;
    if (!isLegacyFrameBytes(frame) && frame !== "auto") {
      throw new LegacyProtocolError(
        LegacyProtocolErrorCode.INVALID_VALUE,
        `legacy frame setting must be 72, 112, 144 or "auto", got ${String(frame)}`,
      );
    }
    this.sink = sink;
    if (frame === "auto") {
      this.mode = Mode.DETECTING;
      this.detector = new LayoutDetector();
    } else {
      this.mode = Mode.SYNC;
      this.frame = frame;
    }
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

  /** Quarantine episodes so far (each ends at a plausible boundary, or with the stream). */
  get quarantines(): number {
    return this.quarantineCount;
  }

  /** Bytes discarded by quarantines that have ended. */
  get discardedBytes(): number {
    return this.discardedByteCount;
  }

  /** True between losing the grid and finding a plausible boundary. */
  get inQuarantine(): boolean {
    return this.mode === Mode.QUARANTINE || (this.mode === Mode.DETECTING && this.detectionQuarantined);
  }

  /** Bytes held: a partial frame, the detection window, or the quarantine window. */
  get bufferedBytes(): number {
    if (this.mode === Mode.DETECTING) return this.detector!.length;
    if (this.mode === Mode.QUARANTINE) return this.search!.heldBytes;
    return this.pendingBytes;
  }

  /**
   * True when the bytes held would be decided by the peer going quiet: auto-detection holding exactly
   * 72 or 112 bytes (a whole frame of that size whose sender waits for a reply, or the start of a
   * longer one), or a quarantine whose last bytes form a plausible frame with nothing after it yet.
   * Call `idle()` once no bytes arrived for a while.
   */
  get awaitingIdleHint(): boolean {
    if (this.mode === Mode.DETECTING) return this.detector!.awaitingIdle;
    if (this.mode === Mode.QUARANTINE) return this.search!.awaitingIdle;
    return false;
  }

  push(chunk: Uint8Array): void {
    if (this.mode === Mode.ABORTED || chunk.length === 0) return;
    try {
      let at = 0;
      while (at < chunk.length) {
        if (this.mode === Mode.DETECTING) at = this.detect(chunk, at);
        else if (this.mode === Mode.QUARANTINE) at = this.searchBoundary(chunk, at);
        else at = this.cut(chunk, at);
      }
    } catch (err) {
      this.mode = Mode.ABORTED;
      throw err;
    }
  }

  /** The peer has sent nothing for a while: settles what `awaitingIdleHint` waits for. */
  idle(): void {
    this.settleIdle("waited");
  }

  /** The stream ended. Reports a truncated frame if bytes are left over. */
  end(): void {
    this.settleIdle("ended the stream");
    if (this.mode === Mode.DETECTING && this.detector!.length > 0) {
      this.truncated(this.detector!.dropped, this.detector!.length, "layout not yet known");
    } else if (this.mode === Mode.SYNC && this.pendingBytes > 0) {
      this.truncated(this.gridOffset, this.pendingBytes, `of ${this.frame} bytes`);
    }
  }

  private settleIdle(why: string): void {
    if (this.mode === Mode.ABORTED || !this.awaitingIdleHint) return;
    try {
      if (this.mode === Mode.DETECTING) {
        this.detector!.idle(why);
        this.afterDetection();
      } else {
        this.search!.idle();
        this.afterSearch();
      }
    } catch (err) {
      this.mode = Mode.ABORTED;
      throw err;
    }
  }

  private truncated(streamOffset: number, heldBytes: number, what: string): void {
    this.sink.onTruncated(
      new LegacyProtocolError(
        LegacyProtocolErrorCode.TRUNCATED_FRAME,
        `the stream ended ${heldBytes} bytes into a frame (${what})`,
        streamOffset,
      ),
    );
  }

  private detect(chunk: Uint8Array, from: number): number {
    const detector = this.detector!;
    const at = detector.take(chunk, from);
    if (detector.dropped > 0 && !this.detectionQuarantined) {
      this.detectionQuarantined = true;
      this.quarantineCount++;
      this.sink.onQuarantine(
        new LegacyProtocolError(
          LegacyProtocolErrorCode.LAYOUT_UNDETECTED,
          "the first bytes start no frame of any layout (a type byte 1..12, zero pads, zero response " +
            "fields): discarding up to the next byte that can start one",
          0,
        ),
      );
    }
    this.afterDetection();
    return at;
  }

  /** Once the detector has decided: the layout is reported and the bytes it held are cut as frames. */
  private afterDetection(): void {
    const detector = this.detector!;
    if (detector.decision === undefined || this.mode !== Mode.DETECTING) return;
    this.frame = detector.decision;
    this.mode = Mode.SYNC;
    this.gridOffset = detector.dropped;
    this.layoutReported = true;
    this.sink.onLayout(this.frame, `auto-detected: ${detector.reason}`);
    if (this.detectionQuarantined) this.resynced(detector.dropped, detector.dropped);
    this.cutHeld(detector.bytes, 0, detector.length);
  }

  private searchBoundary(chunk: Uint8Array, from: number): number {
    const at = this.search!.take(chunk, from);
    this.afterSearch();
    return at;
  }

  private afterSearch(): void {
    const search = this.search!;
    if (!search.found || this.mode !== Mode.QUARANTINE) return;
    this.mode = Mode.SYNC;
    this.gridOffset = search.frameOffset;
    this.resynced(search.discardedBytes, search.frameOffset);
    this.cutHeld(search.bytes, search.frameAt, search.heldBytes);
  }

  private resynced(discardedBytes: number, streamOffset: number): void {
    this.discardedByteCount += discardedBytes;
    this.sink.onResync(discardedBytes, streamOffset);
  }

  /**
   * Cuts bytes the detector or the search held (the first frame, and what followed it) as if they had
   * just arrived. They are at most two frames' worth and never put the decoder back into quarantine on
   * their first frame (it was checked), but the bytes after it may.
   */
  private cutHeld(bytes: Uint8Array, from: number, to: number): void {
    // A copy: a quarantine entered here restarts the search, whose buffer `bytes` may be.
    const held = bytes.slice(from, to);
    let at = 0;
    while (at < held.length) {
      if (this.mode === Mode.QUARANTINE) at = this.searchBoundary(held, at);
      else at = this.cut(held, at);
    }
  }

  /** In sync: decodes every whole frame of `chunk` from `start`; returns where it stopped. */
  private cut(chunk: Uint8Array, start: number): number {
    const frame = this.frame!;
    if (!this.layoutReported) {
      this.layoutReported = true;
      this.sink.onLayout(frame, "fixed by configuration");
    }
    let position = start;
    if (this.pendingBytes > 0) {
      const take = Math.min(frame - this.pendingBytes, chunk.length - position);
      this.pending.set(chunk.subarray(position, position + take), this.pendingBytes);
      this.pendingBytes += take;
      position += take;
      if (this.pendingBytes < frame) return position;
      this.pendingBytes = 0;
      if (!this.decodeFrame(this.pending, this.pendingView, 0, frame)) {
        this.quarantine(this.pending, 0, frame);
        return position;
      }
    }
    // Whole frames are decoded in place from the chunk, through one view of it: no copy, and nothing
    // allocated per frame.
    if (chunk.length - position >= frame) {
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      while (chunk.length - position >= frame) {
        const ok = this.decodeFrame(chunk, view, position, frame);
        position += frame;
        if (!ok) {
          this.quarantine(chunk, position - frame, frame);
          return position;
        }
      }
    }
    const rest = chunk.length - position;
    if (rest > 0) {
      this.pending.set(chunk.subarray(position), 0);
      this.pendingBytes = rest;
    }
    return chunk.length;
  }

  /**
   * Decodes one frame (`view` covers the same bytes as `bytes`); false when it is off the grid (the
   * caller quarantines the stream). The common case, a clean request, takes word-wide checks only.
   */
  private decodeFrame(bytes: Uint8Array, view: DataView, at: number, frame: LegacyFrameBytes): boolean {
    if (isCleanRequest(view, at, frame)) {
      this.gridOffset += frame;
      this.deliver(view, at);
      return true;
    }
    return this.decodeUnusualFrame(bytes, view, at, frame);
  }

  /** What `isCleanRequest` did not pass: judged byte by byte (frameVerdict) for the exact verdict. */
  private decodeUnusualFrame(
    bytes: Uint8Array,
    view: DataView,
    at: number,
    frame: LegacyFrameBytes,
  ): boolean {
    const streamOffset = this.gridOffset;
    const verdict = frameVerdict(bytes, at, frame);
    if (verdict === FrameVerdict.OFF_GRID) return false;
    this.gridOffset += frame;
    if (verdict === FrameVerdict.UNEXPECTED_TYPE) {
      const type = bytes[at]!;
      this.badFrame(
        LegacyProtocolErrorCode.UNEXPECTED_TYPE,
        `${LEGACY_MESSAGE_TYPE_NAMES[type]} (${type}) is a server-to-client frame; skipped`,
        streamOffset,
      );
    } else if (verdict === FrameVerdict.UNKNOWN_TYPE) {
      this.badFrame(
        LegacyProtocolErrorCode.UNKNOWN_TYPE,
        `unknown message type ${bytes[at]}; frame skipped`,
        streamOffset,
      );
    } else {
      // Not reached while isCleanRequest and frameVerdict agree (test/legacy/decoder-fast-path.test.ts).
      this.deliver(view, at);
    }
    return true;
  }

  /** Hands the request at `at` to the sink in the reused message object. */
  private deliver(view: DataView, at: number): void {
    const message = this.message;
    message.type = view.getUint8(at) as LegacyMessageType;
    message.deviceId = view.getInt32(at + LegacyOffset.DEVICE_ID, true);
    message.sizeBytes = u64(view, at + LegacyOffset.SIZE);
    message.bufferType = view.getUint8(at + LegacyOffset.BUFFER_TYPE);
    message.processId = view.getInt32(at + LegacyOffset.PROCESS_ID, true);
    message.bufferId = u64(view, at + LegacyOffset.BUFFER_ID);
    this.messageCount++;
    this.sink.onMessage(message);
  }

  private badFrame(code: LegacyProtocolErrorCode, text: string, streamOffset: number): void {
    this.badFrameCount++;
    this.sink.onBadFrame(new LegacyProtocolError(code, text, streamOffset));
  }

  /** The frame at bytes[at .. at + frame) is off the grid: search for the next boundary inside and after it. */
  private quarantine(bytes: Uint8Array, at: number, frame: LegacyFrameBytes): void {
    const lostAt = this.gridOffset;
    this.mode = Mode.QUARANTINE;
    this.quarantineCount++;
    this.pendingBytes = 0;
    this.search ??= new FrameBoundarySearch(frame);
    this.sink.onQuarantine(
      new LegacyProtocolError(
        LegacyProtocolErrorCode.MALFORMED_FRAME,
        `${offGridReason(bytes, at, frame)}: the stream is off the ${frame}-byte frame grid; ` +
          "discarding up to the next plausible frame boundary",
        lostAt,
      ),
    );
    // A boundary inside the failed frame's own bytes needs a look-ahead byte after them: the search
    // cannot finish here, only with the bytes that follow.
    this.search.start(lostAt, bytes, at + 1, at + frame);
  }
}

const TWO_POW_32 = 4294967296;

/** The u64 at `at`, or -1 when it is >= 2^53 (its high word >= 2^21), as readU64 reads it. */
function u64(view: DataView, at: number): number {
  const high = view.getUint32(at + 4, true);
  if (high >= 0x200000) return -1;
  return high * TWO_POW_32 + view.getUint32(at, true);
}
