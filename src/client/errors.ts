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

export class ConnectionFailedError extends ClientError {
  readonly socketPath: string;
  constructor(socketPath: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      ClientErrorCode.CONNECTION_FAILED,
      `cannot reach the allocwatch server at ${socketPath}: ${reason}`,
      {
        cause,
      },
    );
    this.name = "ConnectionFailedError";
    this.socketPath = socketPath;
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
  constructor(serverCode: string, serverMessage: string) {
    super(
      ClientErrorCode.SERVER_ERROR,
      `the allocwatch server closed the connection: ${serverCode}: ${serverMessage}`,
    );
    this.name = "ServerErrorFrameError";
    this.serverCode = serverCode;
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
