import type { Socket } from "node:net";
import type { Logger } from "pino";
import { ConnectionState } from "../protocol/connection-state.js";
import { encodeError, encodeResyncRequest, encodeWelcome } from "../protocol/encode-frame.js";
import { ProtocolError } from "../protocol/errors.js";
import type { AllocationEvent } from "../protocol/event.js";
import { emptyAllocationEvent, readEventRecord } from "../protocol/event-record.js";
import { FrameDecoder, frameTypeName } from "../protocol/frame-decoder.js";
import { type Frame, FrameType, type HelloFrame, PROTOCOL_VERSION } from "../protocol/frames.js";
import { type AnomalyLog, NO_SESSION } from "./anomaly-log.js";
import { ServerError, ServerErrorCode } from "./errors.js";
import type { Session, SessionPeer } from "./session.js";
import type { SessionTable } from "./session-table.js";
import type { TimerScheduler } from "./timers.js";

/** Server-wide connection counters (reported by the API). */
export class ConnectionCounters {
  open = 0;
  accepted = 0;
  /** Connections closed because of a protocol error. */
  protocolErrors = 0;
}

export interface ConnectionDeps {
  sessions: SessionTable;
  anomalies: AnomalyLog;
  counters: ConnectionCounters;
  log: Logger;
  /** Largest frame accepted (and announced in WELCOME), bytes. */
  maxFrameBytes: number;
  /** Log every event (decided once: when false, the per-event path has no logging cost at all). */
  logEvents: boolean;
  /** How long the peer may take to close after our ERROR frame before we destroy the socket, ms. */
  closeTimeoutMs: number;
  /** How long a new connection may take to send HELLO, ms (a silent peer must not hold a socket forever). */
  helloTimeoutMs: number;
  /** Runs the HELLO timeout (injected so that tests drive it with a fake clock). */
  timers: TimerScheduler;
}

let nextConnectionId = 1;

/**
 * Owns one client socket (docs/DESIGN.md rule 2): feeds its chunks to the decoder and the frame-order state
 * machine, and dispatches frames to the session. Every failure takes one path (`fail`): an ERROR frame,
 * a count, and the end of this socket; other connections never notice.
 */
export class Connection implements SessionPeer {
  readonly id = nextConnectionId++;
  private readonly decoder: FrameDecoder;
  private readonly state = new ConnectionState("server");
  private session: Session | undefined;
  /** Set once we stop reading: after a failure or a server-initiated close. */
  private closing = false;
  private closed = false;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Pending until HELLO is accepted; restarted by every chunk before it (an idle timeout, as before). */
  private helloTimer: unknown;
  private readonly event: AllocationEvent = emptyAllocationEvent();

  constructor(
    private readonly socket: Socket,
    private readonly deps: ConnectionDeps,
  ) {
    this.decoder = new FrameDecoder({ maxFrameBytes: deps.maxFrameBytes });
    deps.counters.open++;
    deps.counters.accepted++;
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => this.onEnd());
    socket.on("error", (error) =>
      this.deps.log.debug({ connection: this.id, err: error }, "connection error"),
    );
    socket.on("close", () => this.onClose());
    this.startHelloTimer();
  }

  /** Session of this connection once HELLO is accepted. */
  get sessionOf(): Session | undefined {
    return this.session;
  }

  requestResync(deviceId: number, reason: string): void {
    if (this.closing) return;
    this.deps.log.info(
      { connection: this.id, sessionId: this.session?.sessionId, deviceId, reason },
      "resync requested",
    );
    this.socket.write(encodeResyncRequest({ deviceId, reason }));
  }

  /** Sends ERROR and ends the connection (server shutdown, session released). */
  close(code: string, message: string): void {
    this.endWithError(code, message);
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return; // after a failure the rest of the stream is discarded unread
    if (this.helloTimer !== undefined) this.startHelloTimer();
    let error: ProtocolError | undefined;
    try {
      error = this.decoder.feed(chunk, this.onFrame);
    } catch (bug) {
      // A defect of ours must cost this connection, never the server (docs/DESIGN.md invariant 4).
      this.deps.log.error({ connection: this.id, err: bug }, "internal error while handling a frame");
      this.fail(ServerErrorCode.INTERNAL, "internal server error while handling a frame");
      return;
    }
    if (error !== undefined && !this.closing) this.fail(error.code, error.message);
  }

  private onEnd(): void {
    if (!this.closing) {
      const error = this.decoder.end();
      if (error !== undefined) {
        this.fail(error.code, error.message);
        return;
      }
    }
    // The peer finished sending: finish our side too (sockets are half-open so that we could answer).
    this.socket.end();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    this.stopHelloTimer();
    this.deps.counters.open--;
    const session = this.session;
    if (session !== undefined) {
      this.deps.log.debug(
        { connection: this.id, sessionId: session.sessionId, clientPid: session.pid },
        "connection closed",
      );
      this.deps.sessions.detach(session, this);
    }
  }

  // An arrow property: the decoder calls it for every frame without a bind per chunk.
  private readonly onFrame = (frame: Frame): void => {
    if (this.closing) return;
    const problem = this.state.accept(frame);
    if (problem !== undefined) {
      this.fail(problem.code, problem.message);
      return;
    }
    const session = this.session;
    switch (frame.type) {
      case FrameType.HELLO:
        this.onHello(frame);
        return;
      case FrameType.EVENTS:
        this.onEvents(session!, frame.records, frame.count);
        return;
      case FrameType.SNAPSHOT_BEGIN:
        this.deps.log.info(
          {
            sessionId: session!.sessionId,
            deviceId: frame.deviceId,
            watermarkSeq: frame.watermarkSeq,
            allocations: frame.totalAllocations,
          },
          "snapshot begins",
        );
        session!.snapshotBegin(this, frame.deviceId, frame.watermarkSeq, frame.totalAllocations);
        return;
      case FrameType.SNAPSHOT_CHUNK:
        session!.snapshotChunk(this, frame.deviceId, frame.allocations);
        return;
      case FrameType.SNAPSHOT_END:
        session!.snapshotEnd(this, frame.deviceId, frame.watermarkSeq);
        this.deps.log.info({ sessionId: session!.sessionId, deviceId: frame.deviceId }, "snapshot applied");
        return;
      case FrameType.GOODBYE:
        session!.goodbyeReceived = true;
        this.deps.log.debug({ sessionId: session!.sessionId }, "goodbye received");
        return;
      default:
        // ConnectionState already refuses every other type from a client.
        this.fail(
          ServerErrorCode.UNEXPECTED_FRAME,
          `unexpected ${frameTypeName(frame.type)} frame from a client`,
        );
    }
  };

  private onHello(hello: HelloFrame): void {
    if (hello.version !== PROTOCOL_VERSION) {
      this.fail(
        "PROTO_UNSUPPORTED_VERSION",
        `protocol version ${hello.version} is not supported (server speaks ${PROTOCOL_VERSION})`,
      );
      return;
    }
    try {
      this.session = this.deps.sessions.attach(
        {
          sessionId: hello.sessionId,
          pid: hello.pid,
          processStartTicks: hello.processStartTicks,
          processName: hello.processName,
          source: "native",
        },
        hello.devices,
        this,
      );
    } catch (error) {
      if (error instanceof ServerError) {
        this.fail(error.code, error.message);
        return;
      }
      throw error;
    }
    this.stopHelloTimer();
    this.socket.write(encodeWelcome({ version: PROTOCOL_VERSION, maxFrameBytes: this.deps.maxFrameBytes }));
  }

  private onEvents(session: Session, records: Uint8Array, count: number): void {
    if (!this.deps.logEvents) {
      session.events(records, count);
      return;
    }
    // --verbose: one log line per event, so one decoded event object per record (a debugging mode).
    const event = this.event;
    for (let i = 0; i < count; i++) {
      readEventRecord(records, i, event);
      this.deps.log.debug({ sessionId: session.sessionId, ...event }, "event");
      session.event(
        event.op,
        event.deviceId,
        event.memoryType,
        event.seq,
        event.allocationId,
        event.address,
        event.sizeBytes,
      );
    }
  }

  private startHelloTimer(): void {
    this.stopHelloTimer();
    this.helloTimer = this.deps.timers.set(() => {
      this.helloTimer = undefined;
      if (this.session === undefined) {
        this.fail(
          ServerErrorCode.HELLO_TIMEOUT,
          `no HELLO within ${this.deps.helloTimeoutMs} ms of connecting`,
        );
      }
    }, this.deps.helloTimeoutMs);
  }

  private stopHelloTimer(): void {
    if (this.helloTimer === undefined) return;
    this.deps.timers.clear(this.helloTimer);
    this.helloTimer = undefined;
  }

  /** The one failure path: count, tell the peer why, stop reading, close. */
  private fail(code: string, message: string): void {
    if (this.closing) return;
    this.deps.counters.protocolErrors++;
    const subject = this.session?.account ?? NO_SESSION;
    this.deps.anomalies.record(
      "PROTOCOL_ERROR",
      subject,
      null,
      `${code}: ${message} (connection ${this.id})`,
    );
    this.endWithError(code, message);
  }

  private endWithError(code: string, message: string): void {
    if (this.closing) return;
    this.closing = true;
    let frame: Uint8Array;
    try {
      frame = encodeError({ code, message });
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      frame = encodeError({ code: ServerErrorCode.UNEXPECTED_FRAME, message });
    }
    if (this.socket.writable) this.socket.end(frame);
    else this.socket.destroy();
    // Keep reading (and discarding) until the peer closes, so it reads the ERROR frame rather than a
    // reset; but never wait forever for a peer that ignores it.
    this.closeTimer = setTimeout(() => this.socket.destroy(), this.deps.closeTimeoutMs);
    this.closeTimer.unref();
  }
}
