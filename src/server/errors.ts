/**
 * Every way the server can refuse something, each with a stable string code (callers and tests match on
 * `code`, never on `message`). Codes are upper case so that they can travel in an ERROR frame as they are.
 * The HTTP API answers with its own codes (ApiErrorCode, part of its public contract).
 */
export const ServerErrorCode = {
  /** An option (CLI flag or startServer option) is invalid; the message says the fix. */
  INVALID_OPTION: "SERVER_INVALID_OPTION",
  /** Another server answers on the socket path. */
  ALREADY_RUNNING: "SERVER_ALREADY_RUNNING",
  /** The socket path exists and is not a socket: we refuse to delete someone's file. */
  SOCKET_PATH_OCCUPIED: "SERVER_SOCKET_PATH_OCCUPIED",
  /** Listening failed for another reason (permissions, missing directory, address in use...). */
  LISTEN_FAILED: "SERVER_LISTEN_FAILED",
  /** A connection sent no HELLO within the handshake timeout. */
  HELLO_TIMEOUT: "SERVER_HELLO_TIMEOUT",
  /**
   * The connection held more than its share of the server's buffer budget (bytes of frames not yet
   * complete and replies not yet read) while the budget was full.
   */
  BUDGET_EXCEEDED: "SERVER_BUDGET_EXCEEDED",
  /** A frame that a client may not send in the connection's state (a second HELLO, a WELCOME...). */
  UNEXPECTED_FRAME: "SERVER_UNEXPECTED_FRAME",
  /** HELLO reuses a live session id with another pid or process start time (or from another source). */
  SESSION_CONFLICT: "SERVER_SESSION_CONFLICT",
  /** HELLO names a live session without that session's resume secret (docs/PROTOCOL.md §3.1). */
  RESUME_REFUSED: "SERVER_RESUME_REFUSED",
  /** HELLO's pid or process start time is not the connecting process's, as the kernel reports it. */
  PEER_MISMATCH: "SERVER_PEER_MISMATCH",
  /**
   * The server cannot verify who is connecting: a version 1 HELLO (no resume secret) where the kernel's
   * peer credentials are unavailable, or a connection whose credentials could not be read.
   */
  PEER_UNVERIFIED: "SERVER_PEER_UNVERIFIED",
  /** The server already has its maximum of open client connections (ServerOptions.maxConnections). */
  TOO_MANY_CONNECTIONS: "SERVER_TOO_MANY_CONNECTIONS",
  /** The connecting uid already has its maximum of open connections (maxConnectionsPerUid). */
  TOO_MANY_CONNECTIONS_FOR_UID: "SERVER_TOO_MANY_CONNECTIONS_FOR_UID",
  /**
   * A HELLO would open a session past maxSessionsPerProcess (for its pid) or maxSessions (for the server)
   * while every existing one is connected (an idle one would have been released to make room).
   */
  TOO_MANY_SESSIONS: "SERVER_TOO_MANY_SESSIONS",
  /** EVENTS or a snapshot frame names a device that no HELLO of the session announced. */
  UNKNOWN_DEVICE: "SERVER_UNKNOWN_DEVICE",
  /** HELLO would bring the session's announced devices above the server's per-session limit. */
  TOO_MANY_DEVICES: "SERVER_TOO_MANY_DEVICES",
  /** A defect in the server while handling a connection's frame; that connection is closed. */
  INTERNAL: "SERVER_INTERNAL_ERROR",
  /** The session was released (process gone, grace expired); sent to connections it still had. */
  SESSION_RELEASED: "SERVER_SESSION_RELEASED",
  /** The server is shutting down; sent in the ERROR frame that closes every connection. */
  SHUTTING_DOWN: "SERVER_SHUTTING_DOWN",
  /** The history database (`--history PATH`) cannot be created or written (directory, permissions). */
  HISTORY_UNWRITABLE: "SERVER_HISTORY_UNWRITABLE",
  /** The history file is not an allocwatch history database, or it is damaged. */
  HISTORY_CORRUPT: "SERVER_HISTORY_CORRUPT",
  /** Another process (another allocwatch server) holds the history database. */
  HISTORY_LOCKED: "SERVER_HISTORY_LOCKED",
  /** The history database was written by a newer allocwatch (a schema this version does not know). */
  HISTORY_NEWER_SCHEMA: "SERVER_HISTORY_NEWER_SCHEMA",
} as const;
export type ServerErrorCode = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

export class ServerError extends Error {
  override readonly name: string = "ServerError";
  readonly code: ServerErrorCode;

  constructor(code: ServerErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** An option failed validation at the edge (CLI or startServer). */
export class InvalidOptionError extends ServerError {
  override readonly name = "InvalidOptionError";
  constructor(message: string) {
    super(ServerErrorCode.INVALID_OPTION, message);
  }
}

/** A live server already listens on the socket path. */
export class ServerAlreadyRunningError extends ServerError {
  override readonly name = "ServerAlreadyRunningError";
  readonly socketPath: string;
  constructor(socketPath: string) {
    super(
      ServerErrorCode.ALREADY_RUNNING,
      `another allocwatch server is already listening on ${socketPath} ` +
        "(stop it first, or start this one with --socket PATH)",
    );
    this.socketPath = socketPath;
  }
}

/** The socket path is taken by something that is not a socket. */
export class SocketPathOccupiedError extends ServerError {
  override readonly name = "SocketPathOccupiedError";
  constructor(socketPath: string) {
    super(
      ServerErrorCode.SOCKET_PATH_OCCUPIED,
      `${socketPath} exists and is not a socket; remove it or pass --socket PATH`,
    );
  }
}

/** Binding the socket or the HTTP port failed. */
export class ListenError extends ServerError {
  override readonly name = "ListenError";
  constructor(message: string) {
    super(ServerErrorCode.LISTEN_FAILED, message);
  }
}

/** A client broke the connection protocol (frame order); sent in an ERROR frame before the close. */
export class ConnectionProtocolError extends ServerError {
  override readonly name = "ConnectionProtocolError";
}
