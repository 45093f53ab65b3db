/**
 * Errors of the monitors. Callers match on the stable `code`; messages are one line and say how to fix.
 */
export class MonitorError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
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
      "MONITOR_SERVER_UNREACHABLE",
      `no allocation server at ${url} (start one with \`allocwatch serve\`)`,
      options,
    );
    this.url = url;
  }
}

/** Something answered, but not with a summary this monitor understands (wrong service, error status). */
export class BadServerResponseError extends MonitorError {
  constructor(url: string, detail: string) {
    super("MONITOR_BAD_RESPONSE", `unexpected answer from ${url}: ${detail}`);
  }
}

/** A `--server` / `--http` / ALLOCWATCH_HTTP value that is not an address. */
export class InvalidEndpointError extends MonitorError {
  constructor(value: string, source: string) {
    super(
      "MONITOR_INVALID_ENDPOINT",
      `${source} "${value}" is not an HTTP address: use HOST:PORT (e.g. 127.0.0.1:7477) or http://HOST:PORT`,
    );
  }
}
