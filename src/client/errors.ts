/**
 * Errors of the client layer. Callers match on `code`, never on the message or the class name.
 * Only option validation throws (at construction, before the workload runs); every other failure is
 * reported through the client's `onError` callback and its counters, never thrown into the workload.
 */
export const ClientErrorCode = {
  /** An option passed to AllocationClient / TrackingProcessor is missing or out of range. */
  INVALID_OPTION: "AWC_INVALID_OPTION",
  /** The Unix socket could not be reached (ENOENT, ECONNREFUSED, EPIPE, ECONNRESET ...). */
  CONNECTION_FAILED: "AWC_CONNECTION_FAILED",
  /** The server did not answer HELLO with WELCOME in time. */
  HANDSHAKE_TIMEOUT: "AWC_HANDSHAKE_TIMEOUT",
  /** The server sent an ERROR frame (its code is kept in `serverCode`) before closing the connection. */
  SERVER_ERROR: "AWC_SERVER_ERROR",
  /** The server sent bytes the client could not decode, or a frame a client never expects. */
  PROTOCOL_VIOLATION: "AWC_PROTOCOL_VIOLATION",
  /** The snapshot source threw or returned nothing for a device that needs a resync. */
  SNAPSHOT_FAILED: "AWC_SNAPSHOT_FAILED",
  /** A user callback (onError, onStateChange) threw; the client swallowed it. */
  CALLBACK_FAILED: "AWC_CALLBACK_FAILED",
  /**
   * The client's writer thread ended unexpectedly (an uncaught exception on it, it exited, or it could not
   * start). The client restarts it, or after too many failures in a row turns tracking off.
   */
  WRITER_FAILED: "AWC_WRITER_FAILED",
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

export class ClientError extends Error {
  readonly code: ClientErrorCode;
  constructor(code: ClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ClientError";
    this.code = code;
  }
}

export class InvalidClientOptionError extends ClientError {
  /** Name of the offending option, e.g. "maxQueueBytes" or "devices[1].deviceId". */
  readonly option: string;
  constructor(option: string, message: string) {
    super(ClientErrorCode.INVALID_OPTION, `allocwatch client option ${option}: ${message}`);
    this.name = "InvalidClientOptionError";
    this.option = option;
  }
}

/** Why a connection to the server failed (ConnectionFailedError.reason); stable values. */
export const ConnectionFailureReason = {
  /** The socket (or a folder on its path) is closed to this user: EACCES, EPERM. */
  PERMISSION_DENIED: "PERMISSION_DENIED",
  /** Nothing at the socket path, or a folder on it is missing: ENOENT, ENOTDIR. No server was started there. */
  NO_SOCKET: "NO_SOCKET",
  /** A socket file with no server behind it (ECONNREFUSED): one that stopped without removing it. */
  REFUSED: "REFUSED",
  /** Connected, then the connection broke or ended before WELCOME (EPIPE, ECONNRESET, a close). */
  CLOSED: "CLOSED",
  /** Anything else; `cause` says what. */
  OTHER: "OTHER",
} as const;
export type ConnectionFailureReason = (typeof ConnectionFailureReason)[keyof typeof ConnectionFailureReason];

const REASON_OF_ERRNO: Readonly<Record<string, ConnectionFailureReason>> = {
  EACCES: ConnectionFailureReason.PERMISSION_DENIED,
  EPERM: ConnectionFailureReason.PERMISSION_DENIED,
  ENOENT: ConnectionFailureReason.NO_SOCKET,
  ENOTDIR: ConnectionFailureReason.NO_SOCKET,
  ECONNREFUSED: ConnectionFailureReason.REFUSED,
  EPIPE: ConnectionFailureReason.CLOSED,
  ECONNRESET: ConnectionFailureReason.CLOSED,
};

/** The reason a socket error (its errno code) stands for. */
export function connectionFailureReason(cause: unknown): ConnectionFailureReason {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return (code !== undefined && REASON_OF_ERRNO[code]) || ConnectionFailureReason.OTHER;
}

/** What a person should read for each reason (the errno itself stays in `cause`). */
const REASON_TEXT: Readonly<Record<ConnectionFailureReason, (cause: string) => string>> = {
  PERMISSION_DENIED: () =>
    "permission denied (the socket belongs to another user, or a folder on its path is closed to you; " +
    "connect as that user, or point ALLOCWATCH_SOCKET at a server of yours)",
  NO_SOCKET: () =>
    "no socket there (no server was started at that path: start one with `allocwatch serve`, or point " +
    "ALLOCWATCH_SOCKET at the one that runs)",
  REFUSED: () =>
    "connection refused (a socket file without a server behind it: start one with `allocwatch serve`)",
  CLOSED: (cause) => `the connection closed (${cause})`,
  OTHER: (cause) => cause,
};

export class ConnectionFailedError extends ClientError {
  readonly socketPath: string;
  /** Why, as a stable value to match on (the message is for people). */
  readonly reason: ConnectionFailureReason;
  constructor(socketPath: string, cause: unknown, reason = connectionFailureReason(cause)) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      ClientErrorCode.CONNECTION_FAILED,
      `cannot reach the allocwatch server at ${socketPath}: ${REASON_TEXT[reason](detail)}`,
      { cause },
    );
    this.name = "ConnectionFailedError";
    this.socketPath = socketPath;
    this.reason = reason;
  }
}

export class HandshakeTimeoutError extends ClientError {
  constructor(socketPath: string, timeoutMs: number) {
    super(
      ClientErrorCode.HANDSHAKE_TIMEOUT,
      `the allocwatch server at ${socketPath} did not answer HELLO within ${timeoutMs} ms`,
    );
    this.name = "HandshakeTimeoutError";
  }
}

export class ServerErrorFrameError extends ClientError {
  /** The code the server put in its ERROR frame. */
  readonly serverCode: string;
  /** The message the server put in its ERROR frame. */
  readonly serverMessage: string;
  constructor(serverCode: string, serverMessage: string) {
    super(
      ClientErrorCode.SERVER_ERROR,
      `the allocwatch server closed the connection: ${serverCode}: ${serverMessage}`,
    );
    this.name = "ServerErrorFrameError";
    this.serverCode = serverCode;
    this.serverMessage = serverMessage;
  }
}

export class ProtocolViolationError extends ClientError {
  constructor(message: string, cause?: unknown) {
    super(ClientErrorCode.PROTOCOL_VIOLATION, message, { cause });
    this.name = "ProtocolViolationError";
  }
}

export class SnapshotFailedError extends ClientError {
  readonly deviceId: number;
  constructor(deviceId: number, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(ClientErrorCode.SNAPSHOT_FAILED, `snapshot of device ${deviceId} failed: ${reason}`, { cause });
    this.name = "SnapshotFailedError";
    this.deviceId = deviceId;
  }
}

export class CallbackFailedError extends ClientError {
  constructor(callback: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(ClientErrorCode.CALLBACK_FAILED, `the ${callback} callback threw: ${reason}`, { cause });
    this.name = "CallbackFailedError";
  }
}

export class WriterFailedError extends ClientError {
  /** Failures in a row, this one included (the count starts afresh after a writer ran a while). */
  readonly failures: number;
  /**
   * True: the client starts a new writer thread after its reconnect backoff, and every device resyncs on
   * the new connection. False: it gave up; tracking is off (state "closed", events dropped and counted).
   */
  readonly restarting: boolean;
  constructor(cause: unknown, failures: number, restarting: boolean) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const next = restarting
      ? "restarting it; every device resyncs"
      : `${failures} failures in a row: tracking is off (events are dropped and counted)`;
    super(ClientErrorCode.WRITER_FAILED, `the allocwatch client's writer thread failed: ${reason}; ${next}`, {
      cause,
    });
    this.name = "WriterFailedError";
    this.failures = failures;
    this.restarting = restarting;
  }
}
