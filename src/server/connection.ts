import type { Socket } from "node:net";
import type { Logger } from "pino";
import { ConnectionState } from "../protocol/connection-state.js";
import { encodeError, encodeResyncRequest, encodeWelcome } from "../protocol/encode-frame.js";
import { ProtocolError } from "../protocol/errors.js";
import type { AllocationEvent } from "../protocol/event.js";
import {
  emptyAllocationEvent,
  eventContextId,
  eventRecordsView,
  readEventRecord,
} from "../protocol/event-record.js";
import { FrameDecoder, frameTypeName } from "../protocol/frame-decoder.js";
import { type Frame, FrameType, type HelloFrame, SUPPORTED_PROTOCOL_VERSIONS } from "../protocol/frames.js";
import { EVENT_RECORD_BYTES } from "../protocol/layout.js";
import { type AnomalyLog, NO_SESSION } from "./anomaly-log.js";
import type { BudgetAccount, BudgetHolder, ByteBudget } from "./byte-budget.js";
import { ServerError, ServerErrorCode } from "./errors.js";
import type { PeerCredentials } from "./peer-credentials.js";
import type { Session, SessionPeer } from "./session.js";
import type { SessionTable } from "./session-table.js";
import type { TimerScheduler } from "./timers.js";

/** Server-wide connection counters (reported by the API). */
export class ConnectionCounters {
  open = 0;
  accepted = 0;
  /** Connections closed because of a protocol error. */
  protocolErrors = 0;
  /** Connections closed for what they made the server hold: the buffer budget, replies left unread. */
  budgetClosures = 0;
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
  /**
   * How long a new connection has to complete HELLO, counted from accept, ms: a deadline that bytes do
   * not extend (a peer trickling a byte now and then must not hold a socket forever).
   */
  helloTimeoutMs: number;
  /** Runs the HELLO deadline (injected so that tests drive it with a fake clock). */
  timers: TimerScheduler;
  /** This connection's process as the kernel reports it (SO_PEERCRED); undefined where it cannot. */
  peer?: PeerCredentials;
  /** Shared by all native connections: frames not yet complete and replies not yet read, bytes. */
  budget: ByteBudget;
  /** Most reply bytes that may wait unread for one client before its connection is dropped. */
  maxOutboundBytes: number;
}

let nextConnectionId = 1;

/**
 * Owns one client socket (docs/DESIGN.md rule 2): feeds its chunks to the decoder and the frame-order state
 * machine, and dispatches frames to the session. Every failure takes one path (`fail`): an ERROR frame,
 * a count, and the end of this socket; other connections never notice. What it makes the server hold
 * (decoder buffer, unread replies) is charged to the shared ByteBudget after every chunk and write.
 */
export class Connection implements SessionPeer, BudgetHolder {
  readonly id = nextConnectionId++;
  /** Replaced by a fresh one (not reset) to give an idle assembly buffer back to the budget. */
  private decoder: FrameDecoder;
  private readonly account: BudgetAccount;
  /** True while the decoder runs: its buffer must not be taken away under it. */
  private decoding = false;
  private readonly state = new ConnectionState("server");
  private session: Session | undefined;
  /** Set once we stop reading: after a failure or a server-initiated close. */
  private closing = false;
  private closed = false;
  private closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Pending until HELLO is accepted; set once, at accept (a deadline, not an idle timeout). */
  private helloTimer: unknown;
  private readonly event: AllocationEvent = emptyAllocationEvent();

  constructor(
    private readonly socket: Socket,
    private readonly deps: ConnectionDeps,
  ) {
    this.decoder = new FrameDecoder({ maxFrameBytes: deps.maxFrameBytes });
    this.account = deps.budget.open(this);
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
    this.send(encodeResyncRequest({ deviceId, reason }));
  }

  /** Sends ERROR and ends the connection (server shutdown, session released). */
  close(code: string, message: string): void {
    this.endWithError(code, message);
  }

  /** Gives back an idle decoder's buffer (between frames, not while decoding); returns what it still holds. */
  reclaim(): number {
    const decoder = this.decoder;
    if (!this.decoding && !this.closing && decoder.atFrameBoundary && decoder.bufferedCapacityBytes > 0)
      this.decoder = new FrameDecoder({ maxFrameBytes: this.deps.maxFrameBytes });
    return this.heldBytes();
  }

  /** The budget was full and this connection held more than its share. */
  evict(heldBytes: number, shareBytes: number): void {
    this.closeOverBudget(
      `this connection holds ${heldBytes} bytes (frames not yet complete, replies not yet read) while the ` +
        `server's buffer budget of ${this.deps.budget.limitBytes} bytes is full; the share per connection ` +
        `is ${shareBytes} bytes now`,
    );
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return; // after a failure the rest of the stream is discarded unread
    let error: ProtocolError | undefined;
    this.decoding = true;
    try {
      error = this.decoder.feed(chunk, this.onFrame);
    } catch (bug) {
      this.decoding = false;
      if (bug instanceof ServerError) {
        // A frame the session refuses (e.g. SERVER_UNKNOWN_DEVICE): the client's fault, said in ERROR.
        this.fail(bug.code, bug.message);
        return;
      }
      // A defect of ours must cost this connection, never the server (docs/DESIGN.md invariant 4).
      this.deps.log.error({ connection: this.id, err: bug }, "internal error while handling a frame");
      this.fail(ServerErrorCode.INTERNAL, "internal server error while handling a frame");
      return;
    }
    this.decoding = false;
    if (error !== undefined && !this.closing) this.fail(error.code, error.message);
    else this.recharge();
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
    this.deps.budget.close(this.account);
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
      case FrameType.CONTEXT:
        session!.defineContext(frame.contextId, frame.text);
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
    if (!SUPPORTED_PROTOCOL_VERSIONS.includes(hello.version)) {
      this.fail(
        "PROTO_UNSUPPORTED_VERSION",
        `protocol version ${hello.version} is not supported (server speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")})`,
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
        { kernel: this.deps.peer, resumeSecret: hello.resumeSecret },
      );
    } catch (error) {
      if (error instanceof ServerError) {
        this.fail(error.code, error.message);
        return;
      }
      throw error;
    }
    this.stopHelloTimer();
    // Answered in the HELLO's version: a version 1 client decodes only version 1 frames.
    this.send(encodeWelcome({ version: hello.version, maxFrameBytes: this.deps.maxFrameBytes }));
  }

  private onEvents(session: Session, records: Uint8Array, count: number): void {
    if (!this.deps.logEvents) {
      session.events(this, records, count);
      return;
    }
    // --verbose: one log line per event, so one decoded event object per record (a debugging mode).
    const event = this.event;
    const view = eventRecordsView(records);
    for (let i = 0; i < count; i++) {
      readEventRecord(records, i, event);
      const contextId = eventContextId(view, i * EVENT_RECORD_BYTES);
      this.deps.log.debug({ sessionId: session.sessionId, ...event, contextId }, "event");
      session.event(
        this,
        event.op,
        event.deviceId,
        event.memoryType,
        event.seq,
        event.allocationId,
        event.address,
        event.sizeBytes,
        contextId,
      );
    }
  }

  private startHelloTimer(): void {
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

  /** Writes a frame; drops the connection if its client leaves more than maxOutboundBytes unread. */
  private send(frame: Uint8Array): void {
    this.socket.write(frame, this.onFlushed);
    const queued = this.socket.writableLength;
    if (queued > this.deps.maxOutboundBytes) {
      this.closeOverBudget(
        `${queued} bytes of replies wait unread, over the limit of ${this.deps.maxOutboundBytes} per ` +
          "connection: the client does not read its socket",
      );
      return;
    }
    this.recharge();
  }

  // An arrow property: one callback for every write, not a closure per write.
  private readonly onFlushed = (): void => this.recharge();

  /** Bytes this connection makes the server hold now: decoder buffer and replies not yet read. */
  private heldBytes(): number {
    return this.decoder.bufferedCapacityBytes + this.socket.writableLength;
  }

  /** Charges the budget with what this connection holds now (the budget may evict it). */
  private recharge(): void {
    if (this.closing) return;
    const bytes = this.heldBytes();
    if (bytes !== this.account.bytes) this.deps.budget.charge(this.account, bytes);
  }

  /**
   * Ends a connection for what it makes the server hold. An ERROR frame tells a client that reads; one
   * that leaves replies unread would never see it, so its socket is simply destroyed (the log says why).
   */
  private closeOverBudget(reason: string): void {
    if (this.closing) return;
    this.deps.counters.budgetClosures++;
    const unread = this.socket.writableLength;
    this.deps.log.warn(
      { connection: this.id, sessionId: this.session?.sessionId, unreadBytes: unread, reason },
      "connection closed: over its buffer budget",
    );
    if (unread === 0) {
      this.endWithError(ServerErrorCode.BUDGET_EXCEEDED, reason);
      return;
    }
    this.closing = true;
    this.releaseBuffers();
    this.socket.destroy();
  }

  /** Nothing more is decoded or charged: the budget forgets this connection and its buffer goes. */
  private releaseBuffers(): void {
    this.deps.budget.close(this.account);
    // Safe even while decoding: feed() runs on the old decoder, and nothing is decoded once closing.
    this.decoder = new FrameDecoder({ maxFrameBytes: this.deps.maxFrameBytes });
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
    this.releaseBuffers();
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
