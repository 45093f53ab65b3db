import { createConnection, type Socket } from "node:net";
import { FrameDecoder } from "../protocol/frame-decoder.js";
import { type Frame, FrameType, type ResyncRequestFrame, type WelcomeFrame } from "../protocol/frames.js";
import {
  type ClientError,
  ConnectionFailedError,
  ConnectionFailureReason,
  HandshakeTimeoutError,
  ProtocolViolationError,
  ServerErrorFrameError,
} from "./errors.js";

/** What a Connection tells its owner. Each method is called on the event loop, never re-entrantly. */
export interface ConnectionEvents {
  onWelcome(frame: WelcomeFrame): void;
  onResyncRequest(frame: ResyncRequestFrame): void;
  /** The socket accepts writes again after write() returned false. */
  onDrain(): void;
  /** One frame passed to write() reached the kernel (called in write order). */
  onWritten(): void;
  /** The connection is over; called exactly once. `error` is why, undefined after a clean end. */
  onClosed(error: ClientError | undefined): void;
}

/**
 * One socket to the server: sends HELLO on connect, decodes what the server sends, reports it as
 * events. It never throws: socket errors (ECONNREFUSED, EPIPE, ECONNRESET ...), a silent server, an
 * ERROR frame or undecodable bytes all end in one onClosed(error). The client owns the queue and the
 * reconnection policy; this object lives for one connection attempt.
 */
export class Connection {
  private readonly socket: Socket;
  private readonly decoder = new FrameDecoder();
  private readonly handshakeTimer: NodeJS.Timeout;
  private welcomed = false;
  private closed = false;
  /** The first reason the connection failed; reported by onClosed. */
  private failure: ClientError | undefined;
  private readonly written = (error?: Error | null) => {
    if (!error && !this.closed) this.events.onWritten();
  };
  private readonly onFrame = (frame: Frame) => this.handleFrame(frame);

  constructor(
    private readonly socketPath: string,
    hello: Uint8Array,
    handshakeTimeoutMs: number,
    private readonly events: ConnectionEvents,
  ) {
    this.handshakeTimer = setTimeout(() => {
      this.fail(new HandshakeTimeoutError(socketPath, handshakeTimeoutMs));
    }, handshakeTimeoutMs);
    this.handshakeTimer.unref();
    const socket = createConnection({ path: socketPath });
    this.socket = socket;
    // Waiting for a server must never keep the workload's process alive; flush()/close() ref it.
    socket.unref();
    socket.on("connect", () => {
      socket.write(hello);
    });
    socket.on("data", (chunk: Buffer) => {
      const error = this.decoder.feed(chunk, this.onFrame);
      if (error !== undefined && !this.closed) {
        this.fail(new ProtocolViolationError(`undecodable bytes from the server: ${error.message}`, error));
      }
    });
    socket.on("drain", () => {
      if (!this.closed) this.events.onDrain();
    });
    // EPIPE/ECONNRESET/ENOENT arrive here instead of as signals or throws; 'close' follows.
    socket.on("error", (error) => {
      if (this.failure === undefined) this.failure = new ConnectionFailedError(socketPath, error);
    });
    socket.on("close", () => this.finish());
  }

  get isWelcomed(): boolean {
    return this.welcomed;
  }

  /** Neither closed nor torn down: write() would hand a frame to the socket. */
  get isOpen(): boolean {
    return !this.closed && !this.socket.destroyed;
  }

  /** Bytes accepted by write() but not yet handed to the kernel. */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  /** Writes one encoded frame. False: the socket buffer is full, wait for onDrain before writing more. */
  write(frame: Uint8Array): boolean {
    if (this.closed || this.socket.destroyed) return false;
    return this.socket.write(frame, this.written);
  }

  /** Sends `lastFrame` (GOODBYE) and half-closes; onClosed follows when the server closes its side. */
  end(lastFrame: Uint8Array): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.end(lastFrame);
  }

  /** Tears the connection down now; onClosed follows. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Keeps the process alive while the owner waits for this connection (flush, close). */
  ref(): void {
    this.socket.ref();
  }

  unref(): void {
    this.socket.unref();
  }

  private handleFrame(frame: Frame): void {
    if (this.closed) return;
    switch (frame.type) {
      case FrameType.WELCOME:
        if (this.welcomed) {
          this.fail(new ProtocolViolationError("the server sent WELCOME twice"));
          return;
        }
        this.welcomed = true;
        clearTimeout(this.handshakeTimer);
        this.events.onWelcome(frame);
        return;
      case FrameType.RESYNC_REQUEST:
        this.events.onResyncRequest(frame);
        return;
      case FrameType.ERROR:
        // The server closes right after; keep its reason as the cause of the close.
        if (this.failure === undefined) this.failure = new ServerErrorFrameError(frame.code, frame.message);
        return;
      default:
        this.fail(
          new ProtocolViolationError(`the server sent a frame a client never expects (type ${frame.type})`),
        );
    }
  }

  private fail(error: ClientError): void {
    if (this.failure === undefined) this.failure = error;
    this.socket.destroy();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    const truncated = this.decoder.end();
    if (this.failure === undefined && truncated !== undefined && this.welcomed) {
      this.failure = new ProtocolViolationError(
        `the server closed mid-frame: ${truncated.message}`,
        truncated,
      );
    }
    if (this.failure === undefined && !this.welcomed) {
      this.failure = new ConnectionFailedError(
        this.socketPath,
        new Error("closed before WELCOME"),
        ConnectionFailureReason.CLOSED,
      );
    }
    this.events.onClosed(this.failure);
  }
}
