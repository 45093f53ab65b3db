import type { Socket } from "node:net";
import type { Logger } from "pino";
import { LegacyFrameDecoder, type LegacyFrameSetting } from "../../protocol/legacy/decoder.js";
import type { LegacyProtocolError } from "../../protocol/legacy/errors.js";
import type { LegacyFrameBytes } from "../../protocol/legacy/layout.js";
import type { LegacyMessage } from "../../protocol/legacy/message.js";

/** What a legacy connection hands to the adapter. Calls never throw into the socket's event handlers. */
export interface LegacyConnectionHandler {
  message(connection: LegacyConnection, message: LegacyMessage): void;
  /** A frame was skipped (counted; the connection continues). */
  badFrame(connection: LegacyConnection, error: LegacyProtocolError): void;
  /** The stream failed; the connection is being closed. */
  failed(connection: LegacyConnection, error: LegacyProtocolError): void;
  closed(connection: LegacyConnection): void;
}

export interface LegacyConnectionOptions {
  frame: LegacyFrameSetting;
  maxBadFrames: number;
  detectIdleMs: number;
}

let nextLegacyConnectionId = 1;

/**
 * Owns one socket of the original protocol: feeds its chunks to the legacy decoder (which reassembles
 * frames split anywhere), answers on the same socket, and closes it when the decoder declares the
 * stream failed. There is no error frame in the original protocol: failure simply closes the socket.
 */
export class LegacyConnection {
  readonly id = nextLegacyConnectionId++;
  private readonly decoder: LegacyFrameDecoder;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private closing = false;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    options: LegacyConnectionOptions,
    private readonly handler: LegacyConnectionHandler,
    private readonly log: Logger,
  ) {
    this.decoder = new LegacyFrameDecoder(
      { frame: options.frame, maxBadFrames: options.maxBadFrames },
      {
        onLayout: (frameBytes, reason) =>
          this.log.info(
            { legacyConnection: this.id, frameBytes, reason },
            `legacy connection uses ${frameBytes}-byte frames`,
          ),
        onMessage: (message) => this.handler.message(this, message),
        onBadFrame: (error) => this.handler.badFrame(this, error),
        onFatal: (error) => {
          this.handler.failed(this, error);
          this.close();
        },
      },
    );
    const detectIdleMs = options.detectIdleMs;
    socket.on("data", (chunk: Buffer) => {
      if (this.closing) return;
      if (this.idleTimer !== undefined) {
        clearTimeout(this.idleTimer);
        this.idleTimer = undefined;
      }
      try {
        this.decoder.push(chunk);
      } catch (bug) {
        // A defect of ours costs this connection, never the server.
        this.log.error(
          { legacyConnection: this.id, err: bug },
          "internal error while handling a legacy frame",
        );
        this.close();
        return;
      }
      if (this.decoder.awaitingIdleHint) {
        // A peer that sent exactly 112 bytes and waits for a reply: settle auto-detection once it is quiet.
        this.idleTimer = setTimeout(() => {
          this.idleTimer = undefined;
          if (!this.closing) this.safely(() => this.decoder.idle());
        }, detectIdleMs);
        this.idleTimer.unref();
      }
    });
    socket.on("end", () => {
      if (!this.closing) this.safely(() => this.decoder.end());
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

  /** Writes a reply frame; the caller must not reuse `frame` (the socket holds it until flushed). */
  send(frame: Uint8Array): void {
    if (this.closing || !this.socket.writable) return;
    this.socket.write(frame);
  }

  /** Stops reading and closes the socket at once (the original protocol has no error frame). */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.socket.destroy();
  }

  private safely(step: () => void): void {
    try {
      step();
    } catch (bug) {
      this.log.error({ legacyConnection: this.id, err: bug }, "internal error while handling a legacy frame");
      this.close();
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.handler.closed(this);
  }
}
