import type { Socket } from "node:net";
import type { Logger } from "pino";
import { LegacyFrameDecoder, type LegacyFrameSetting } from "../../protocol/legacy/decoder.js";
import type { LegacyProtocolError } from "../../protocol/legacy/errors.js";
import type { LegacyFrameBytes } from "../../protocol/legacy/layout.js";
import type { LegacyMessage } from "../../protocol/legacy/message.js";
import type { LegacyConnectionIdentity } from "./connection-identity.js";

/** What a legacy connection hands to the adapter. */
export interface LegacyConnectionHandler {
  /** A chunk of bytes arrived; its frames follow (`message` and the rest) before the next chunk. */
  received(connection: LegacyConnection): void;
  message(connection: LegacyConnection, message: LegacyMessage): void;
  /** A frame on the grid was skipped (counted; the connection continues). */
  badFrame(connection: LegacyConnection, error: LegacyProtocolError): void;
  /** The frame grid was lost: bytes are discarded until a plausible boundary (the connection continues). */
  quarantined(connection: LegacyConnection, error: LegacyProtocolError): void;
  /** The peer ended the stream inside a frame. */
  truncated(connection: LegacyConnection, error: LegacyProtocolError): void;
  /** The connection's unsent replies passed the close budget: it is being closed. */
  overBudget(connection: LegacyConnection, unsentBytes: number): void;
  closed(connection: LegacyConnection): void;
}

export interface LegacyConnectionOptions {
  frame: LegacyFrameSetting;
  detectIdleMs: number;
  /** Unsent reply bytes past which the socket is not read until they fall to half of it. */
  replyPauseBytes: number;
  /** Unsent reply bytes past which the connection is closed. */
  maxReplyBytes: number;
}

let nextLegacyConnectionId = 1;

/**
 * Owns one socket of the original protocol: feeds its chunks to the legacy decoder (which reassembles
 * frames split anywhere and quarantines garbage), answers on the same socket.
 *
 * It never closes the socket over what the peer sent: the tt-metal client writes without MSG_NOSIGNAL,
 * so a closed socket kills the application with SIGPIPE at its next report. What it bounds instead:
 * - partial frames: the decoder holds at most one frame (144 bytes, or its quarantine window);
 * - replies the peer does not read: past `replyPauseBytes` of unsent replies the socket is paused (its
 *   requests wait in the kernel, so the peer's own writes block), and resumed once they fall to half;
 *   a connection whose unsent replies still pass `maxReplyBytes` is closed (only a peer that asks and
 *   never reads gets there, never a tt-metal client, which asks nothing).
 * A defect of ours while handling a frame stops decoding on this connection (logged) but keeps reading
 * and discarding, for the same reason.
 */
export class LegacyConnection {
  readonly id = nextLegacyConnectionId++;
  private readonly decoder: LegacyFrameDecoder;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private closing = false;
  private closed = false;
  private paused = false;
  private broken = false;
  /** Largest number of unsent reply bytes seen (tests, logs). */
  peakUnsentBytes = 0;

  constructor(
    private readonly socket: Socket,
    readonly identity: LegacyConnectionIdentity,
    private readonly options: LegacyConnectionOptions,
    private readonly handler: LegacyConnectionHandler,
    private readonly log: Logger,
  ) {
    this.decoder = new LegacyFrameDecoder(
      { frame: options.frame },
      {
        onLayout: (frameBytes, reason) =>
          this.log.info(
            { legacyConnection: this.id, frameBytes, reason },
            `legacy connection uses ${frameBytes}-byte frames`,
          ),
        onMessage: (message) => this.handler.message(this, message),
        onBadFrame: (error) => this.handler.badFrame(this, error),
        onQuarantine: (error) => this.handler.quarantined(this, error),
        onResync: (discardedBytes, streamOffset) =>
          this.log.debug(
            { legacyConnection: this.id, discardedBytes, streamOffset },
            "legacy connection back on the frame grid",
          ),
        onTruncated: (error) => this.handler.truncated(this, error),
      },
    );
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => {
      this.safely(() => this.decoder.end());
      socket.end();
    });
    socket.on("error", (error) =>
      this.log.debug({ legacyConnection: this.id, err: error }, "legacy connection error"),
    );
    socket.on("close", () => this.onClose());
  }

  /** The layout in force, once known. */
  get frameBytes(): LegacyFrameBytes | undefined {
    return this.decoder.frameBytes;
  }

  /** Reply bytes written but not yet taken by the kernel. */
  get unsentBytes(): number {
    return this.socket.writableLength;
  }

  /** True while the socket is not read because of unread replies. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Writes a reply frame; the caller must not reuse `frame` (the socket holds it until flushed). */
  send(frame: Uint8Array): void {
    if (this.closing || !this.socket.writable) return;
    this.socket.write(frame, this.flushed);
    const unsent = this.socket.writableLength;
    if (unsent > this.peakUnsentBytes) this.peakUnsentBytes = unsent;
    if (unsent > this.options.maxReplyBytes) {
      this.handler.overBudget(this, unsent);
      this.close();
    }
  }

  /** Closes the socket at once (the original protocol has no error frame). */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.clearIdleTimer();
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closing || this.broken) return;
    this.clearIdleTimer();
    this.handler.received(this);
    this.safely(() => this.decoder.push(chunk));
    if (this.closing || this.broken) return;
    if (!this.paused && this.socket.writableLength > this.options.replyPauseBytes) {
      this.paused = true;
      this.socket.pause();
    }
    if (this.decoder.awaitingIdleHint) {
      // Bytes that only a quiet peer decides (a lone 72- or 112-byte frame, a quarantine's last frame).
      this.idleTimer = setTimeout(() => {
        this.idleTimer = undefined;
        if (!this.closing && !this.broken) this.safely(() => this.decoder.idle());
      }, this.options.detectIdleMs);
      this.idleTimer.unref();
    }
  }

  /** Each reply's write callback: reading resumes once the unsent replies fall to half the threshold. */
  private readonly flushed = (): void => {
    if (!this.paused || this.closing) return;
    if (this.socket.writableLength > this.options.replyPauseBytes / 2) return;
    this.paused = false;
    this.socket.resume();
  };

  private safely(step: () => void): void {
    if (this.broken) return;
    try {
      step();
    } catch (bug) {
      // A defect of ours: stop decoding this connection, but keep it open (closing kills a tt-metal
      // client with SIGPIPE); what it sends from now on is read and discarded.
      this.broken = true;
      this.clearIdleTimer();
      this.log.error(
        { legacyConnection: this.id, err: bug },
        "internal error while handling a legacy frame; the connection's further frames are discarded",
      );
    }
  }

  private clearIdleTimer(): void {
    if (this.idleTimer === undefined) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    this.clearIdleTimer();
    this.handler.closed(this);
  }
}
