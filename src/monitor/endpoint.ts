import { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT } from "../server/api-types.js";
import { InvalidEndpointError } from "./errors.js";

/** The server's default HTTP address (`allocwatch serve` listens here unless told otherwise). */
export const DEFAULT_SERVER_URL = `http://${DEFAULT_HTTP_HOST}:${DEFAULT_HTTP_PORT}`;

export interface EndpointSources {
  /** `--server URL` (a full http:// URL). */
  server?: string;
  /** `--http HOST:PORT`. */
  http?: string;
  /** The ALLOCWATCH_HTTP environment variable (HOST:PORT or a URL). */
  env?: string;
}

/**
 * Base URL of the server's HTTP API, without a trailing slash. Precedence: --server, --http,
 * ALLOCWATCH_HTTP, then the default. Checked once, here, with a message that says the fix.
 */
export function resolveServerUrl(sources: EndpointSources): string {
  if (sources.server) return normalize(sources.server, "--server");
  if (sources.http) return normalize(sources.http, "--http");
  if (sources.env) return normalize(sources.env, "ALLOCWATCH_HTTP");
  return DEFAULT_SERVER_URL;
}

function normalize(value: string, source: string): string {
  const text = value.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InvalidEndpointError(value, source);
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
    throw new InvalidEndpointError(value, source);
  }
  // A bare HOST:PORT must carry its port: "localhost" alone is almost always a typo for the default port.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text) && url.port === "")
    throw new InvalidEndpointError(value, source);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
}
