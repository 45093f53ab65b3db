/**
 * Every way a monitor fails, each with a stable code (callers and tests match on `code`, never on the
 * message). The MONITOR_ prefix tells them apart from the server's, client's and protocol's codes.
 */
export const MonitorErrorCode = {
  /** Nothing answers at the server's HTTP address. */
  SERVER_UNREACHABLE: "MONITOR_SERVER_UNREACHABLE",
  /** Something answered, but not with an answer the monitor understands. */
  BAD_RESPONSE: "MONITOR_BAD_RESPONSE",
  /** A server address that is not HOST:PORT or http://HOST:PORT. */
  INVALID_ENDPOINT: "MONITOR_INVALID_ENDPOINT",
} as const;
export type MonitorErrorCode = (typeof MonitorErrorCode)[keyof typeof MonitorErrorCode];

/** Errors of the monitors. Messages are one line and say how to fix. */
export class MonitorError extends Error {
  readonly code: MonitorErrorCode;
  constructor(code: MonitorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Nothing answers at the server's HTTP address (connection refused, no route, timeout). */
export class ServerUnreachableError extends MonitorError {
  readonly url: string;
  constructor(url: string, options?: { cause?: unknown }) {
    super(
      MonitorErrorCode.SERVER_UNREACHABLE,
      `no allocation server at ${url} (start one with \`allocwatch serve\`)`,
      options,
    );
    this.url = url;
  }
}

/** Something answered, but not with a summary this monitor understands (wrong service, error status). */
export class BadServerResponseError extends MonitorError {
  constructor(url: string, detail: string) {
    super(MonitorErrorCode.BAD_RESPONSE, `unexpected answer from ${url}: ${detail}`);
  }
}

/** A `--server` / `--http` / ALLOCWATCH_HTTP value that is not an address. */
export class InvalidEndpointError extends MonitorError {
  constructor(value: string, source: string) {
    super(
      MonitorErrorCode.INVALID_ENDPOINT,
      `${source} "${value}" is not an HTTP address: use HOST:PORT (e.g. 127.0.0.1:7477) or http://HOST:PORT`,
    );
  }
}
