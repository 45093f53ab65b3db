import { encodeGoodbye } from "../protocol/encode-frame.js";
import { ProtocolErrorCode } from "../protocol/errors.js";
import { PRE_CONTEXT_VERSION, PROTOCOL_VERSION } from "../protocol/frames.js";
import type { ClientContexts } from "./client-contexts.js";
import { encodeClientHello } from "./client-hello.js";
import { type ClientError, ServerErrorFrameError } from "./errors.js";
import type { ResolvedClientOptions } from "./options.js";
import { ReconnectBackoff } from "./reconnect-backoff.js";
import type { LinkConnection, LinkEvents } from "./writer-thread.js";

/** Opens a connection that starts with `greeting`; its events go to `events`. */
export type OpenConnection = (greeting: Uint8Array, events: LinkEvents) => LinkConnection;

/**
 * The client's connection life cycle apart from what it carries: opening a connection that starts with
 * HELLO (version 3 with every context defined so far, or version 2 once a server refused 3), passing on
 * only the current connection's events, and the reconnect timer with its backoff.
 */
export class ClientLink {
  /** False once a server refused version 3: the client then speaks version 2, without contexts. */
  contextsOn = true;
  private readonly hello: Uint8Array;
  /** The version 2 HELLO, for a server that refuses version 3 (it then gets no contexts). */
  private readonly helloWithoutContexts: Uint8Array;
  private readonly backoff: ReconnectBackoff;
  private current: LinkConnection | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Resolves end()'s wait once the connection being ended has closed. */
  private resolveEnded: (() => void) | undefined;

  constructor(
    options: ResolvedClientOptions,
    private readonly contexts: ClientContexts,
    private readonly events: LinkEvents,
    private readonly openConnection: OpenConnection,
  ) {
    this.hello = encodeClientHello(options, PROTOCOL_VERSION);
    this.helloWithoutContexts = encodeClientHello(options, PRE_CONTEXT_VERSION);
    this.backoff = new ReconnectBackoff(options.reconnectInitialMs, options.reconnectMaxMs);
  }

  /** A new connection; only its events reach `events` until it closes. Throws only on the unexpected. */
  open(): LinkConnection {
    this.reconnectTimer = undefined;
    const events = this.events;
    const connection: LinkConnection = this.openConnection(this.greeting(), {
      onWelcome: (frame) => {
        if (this.current !== connection) return;
        this.backoff.reset();
        events.onWelcome(frame);
      },
      onResyncRequest: (frame) => {
        if (this.current === connection) events.onResyncRequest(frame);
      },
      onClosed: (error) => {
        if (this.current !== connection) return;
        this.current = undefined;
        events.onClosed(error);
        this.resolveEnded?.();
      },
    });
    this.current = connection;
    return connection;
  }

  /**
   * True when `error` is a server older than version 3 refusing our HELLO's version: from now on the
   * client speaks version 2 (no contexts) and tries again at once (docs/PROTOCOL.md §9); that refusal
   * is negotiation, not a failure.
   */
  versionRefused(error: ClientError | undefined): boolean {
    const refused =
      error instanceof ServerErrorFrameError &&
      error.serverCode === ProtocolErrorCode.UNSUPPORTED_VERSION &&
      this.contextsOn;
    if (refused) this.contextsOn = false;
    return refused;
  }

  /** Calls `connect` after the next backoff delay, or at once after a version refusal. */
  reconnectLater(connect: () => void, atOnce: boolean): void {
    this.current = undefined;
    this.reconnectTimer = setTimeout(connect, atOnce ? 0 : this.backoff.nextDelayMs());
    this.reconnectTimer.unref();
  }

  /**
   * Ends `connection` (GOODBYE once welcomed, so that the server releases the session at once; destroyed
   * otherwise, or after `timeoutMs`) and resolves once it has closed and events.onClosed has run.
   */
  async end(connection: LinkConnection, timeoutMs: number): Promise<void> {
    const ended = new Promise<void>((resolve) => {
      this.resolveEnded = resolve;
    });
    connection.ref();
    if (connection.isWelcomed) connection.end(encodeGoodbye());
    else connection.destroy();
    const timer = setTimeout(() => connection.destroy(), timeoutMs);
    await ended;
    clearTimeout(timer);
  }

  cancel(): void {
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  /**
   * What a new connection starts with: HELLO, then (version 3) every context defined so far, so that any
   * frame queued for it may cite them.
   */
  private greeting(): Uint8Array {
    if (!this.contextsOn) return this.helloWithoutContexts;
    const definitions = this.contexts.definitions();
    if (definitions.length === 0) return this.hello;
    let bytes = this.hello.length;
    for (const frame of definitions) bytes += frame.length;
    const greeting = new Uint8Array(bytes);
    greeting.set(this.hello, 0);
    let offset = this.hello.length;
    for (const frame of definitions) {
      greeting.set(frame, offset);
      offset += frame.length;
    }
    return greeting;
  }
}
