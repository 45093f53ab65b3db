import { ProtocolError, ProtocolErrorCode } from "./errors.js";
import { frameTypeName } from "./frame-decoder.js";
import { type Frame, FrameType } from "./frames.js";

/** Which end of the connection receives the frames this state machine checks. */
export type ConnectionSide = "server" | "client";

export type ConnectionPhase = "awaiting-handshake" | "open" | "closed";

/**
 * The order in which frames may arrive on one connection (docs/PROTOCOL.md, "Connection state machine").
 * Feed every decoded frame to `accept`; a non-undefined result is a protocol violation: send ERROR with
 * its code and close. Like the decoder, it stays failed after the first violation.
 *
 * Server side (frames from a client): HELLO first and only once; then EVENTS, SNAPSHOT_* and GOODBYE;
 * nothing after GOODBYE. At most one snapshot in progress per connection: CHUNK and END must name the
 * BEGIN's device, END must repeat its watermark, and the chunks must carry exactly totalAllocations.
 * Client side (frames from the server): WELCOME or ERROR first; then RESYNC_REQUEST or ERROR; nothing
 * after ERROR.
 */
export class ConnectionState {
  private currentPhase: ConnectionPhase = "awaiting-handshake";
  private failure: ProtocolError | undefined;
  /** Device of the snapshot in progress, or -1. */
  private snapshotDeviceId = -1;
  private snapshotWatermarkSeq = 0;
  private snapshotExpected = 0;
  private snapshotReceived = 0;

  constructor(readonly side: ConnectionSide) {}

  get phase(): ConnectionPhase {
    return this.currentPhase;
  }

  get error(): ProtocolError | undefined {
    return this.failure;
  }

  /** Device id of the snapshot being received, or undefined. */
  get snapshotInProgress(): number | undefined {
    return this.snapshotDeviceId < 0 ? undefined : this.snapshotDeviceId;
  }

  accept(frame: Frame): ProtocolError | undefined {
    if (this.failure !== undefined) return this.failure;
    const problem = this.side === "server" ? this.acceptFromClient(frame) : this.acceptFromServer(frame);
    if (problem !== undefined) this.failure = problem;
    return problem;
  }

  private acceptFromClient(frame: Frame): ProtocolError | undefined {
    if (this.currentPhase === "awaiting-handshake") {
      if (frame.type !== FrameType.HELLO) return this.unexpected(frame, "the first frame must be HELLO");
      this.currentPhase = "open";
      return undefined;
    }
    if (this.currentPhase === "closed") return this.unexpected(frame, "nothing may follow GOODBYE");
    switch (frame.type) {
      case FrameType.EVENTS:
      case FrameType.CONTEXT:
        return undefined;
      case FrameType.SNAPSHOT_BEGIN:
        if (this.snapshotDeviceId >= 0) {
          return this.unexpected(frame, `the snapshot of device ${this.snapshotDeviceId} has not ended`);
        }
        this.snapshotDeviceId = frame.deviceId;
        this.snapshotWatermarkSeq = frame.watermarkSeq;
        this.snapshotExpected = frame.totalAllocations;
        this.snapshotReceived = 0;
        return undefined;
      case FrameType.SNAPSHOT_CHUNK:
        if (frame.deviceId !== this.snapshotDeviceId) {
          return this.unexpected(frame, `no snapshot of device ${frame.deviceId} in progress`);
        }
        this.snapshotReceived += frame.allocations.length;
        if (this.snapshotReceived > this.snapshotExpected) {
          return new ProtocolError(
            ProtocolErrorCode.SNAPSHOT_MISMATCH,
            `snapshot of device ${frame.deviceId}: more than the announced ${this.snapshotExpected} allocations`,
          );
        }
        return undefined;
      case FrameType.SNAPSHOT_END:
        if (frame.deviceId !== this.snapshotDeviceId) {
          return this.unexpected(frame, `no snapshot of device ${frame.deviceId} in progress`);
        }
        if (
          frame.watermarkSeq !== this.snapshotWatermarkSeq ||
          this.snapshotReceived !== this.snapshotExpected
        ) {
          return new ProtocolError(
            ProtocolErrorCode.SNAPSHOT_MISMATCH,
            `snapshot of device ${frame.deviceId}: END watermark ${frame.watermarkSeq} with ${this.snapshotReceived} ` +
              `allocations, BEGIN announced watermark ${this.snapshotWatermarkSeq} with ${this.snapshotExpected}`,
          );
        }
        this.snapshotDeviceId = -1;
        return undefined;
      case FrameType.GOODBYE:
        this.currentPhase = "closed";
        this.snapshotDeviceId = -1;
        return undefined;
      default:
        return this.unexpected(frame, "a client may not send it");
    }
  }

  private acceptFromServer(frame: Frame): ProtocolError | undefined {
    if (this.currentPhase === "closed") return this.unexpected(frame, "nothing may follow ERROR");
    if (frame.type === FrameType.ERROR) {
      this.currentPhase = "closed";
      return undefined;
    }
    if (this.currentPhase === "awaiting-handshake") {
      if (frame.type !== FrameType.WELCOME) {
        return this.unexpected(frame, "the first frame must be WELCOME or ERROR");
      }
      this.currentPhase = "open";
      return undefined;
    }
    if (frame.type === FrameType.RESYNC_REQUEST) return undefined;
    return this.unexpected(frame, "a server may not send it after WELCOME");
  }

  private unexpected(frame: Frame, why: string): ProtocolError {
    return new ProtocolError(
      ProtocolErrorCode.UNEXPECTED_FRAME,
      `unexpected ${frameTypeName(frame.type)} frame (${this.side} side, ${this.currentPhase}): ${why}`,
    );
  }
}
