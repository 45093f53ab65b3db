import { InvalidOptionError } from "./errors.js";
import { DEFAULT_HTTP_ADDRESS, type HttpAddress, parseHttpAddress } from "./http-api.js";
import { isPublicHost, parseAllowedHost, publicBindRefusal } from "./http-host-policy.js";
import { type LegacyOptions, resolveLegacyOptions } from "./legacy/options.js";
import { defaultSocketPath, socketPathTooLong } from "./listener.js";
import { isInteger } from "./option-checks.js";
import type { ServerOptions } from "./options.js";

/** Where the server listens: its socket, the HTTP API and the legacy socket, checked. */
export interface ResolvedEndpointOptions {
  socketPath: string;
  /** undefined: no HTTP API. */
  httpAddress: HttpAddress | undefined;
  httpPublic: boolean;
  /** Lower case, IPv6 without brackets. */
  httpAllowHosts: string[];
  /** undefined: the legacy protocol is off. */
  legacy: LegacyOptions | undefined;
}

export function resolveEndpointOptions(
  options: Pick<ServerOptions, "http" | "httpPublic" | "httpAllowHosts" | "socketPath" | "legacy">,
): ResolvedEndpointOptions {
  const httpPublic = options.httpPublic === true;
  const httpAddress = resolveHttp(options.http, httpPublic);
  const httpAllowHosts = (options.httpAllowHosts ?? []).map(parseAllowedHost);
  const socketPath = options.socketPath ?? defaultSocketPath();
  const legacy = options.legacy === undefined ? undefined : resolveLegacyOptions(options.legacy);
  if (socketPath === "") {
    throw new InvalidOptionError(
      "socketPath (--socket) must not be empty: give a path, or leave it out for the default",
    );
  }
  checkSocketPathLength(socketPath, "socketPath (--socket)");
  if (legacy !== undefined) checkSocketPathLength(legacy.socketPath, "legacy socketPath (--legacy-socket)");
  return { socketPath, httpAddress, httpPublic, httpAllowHosts, legacy };
}

function resolveHttp(http: ServerOptions["http"], httpPublic: boolean): HttpAddress | undefined {
  if (http === false) return undefined;
  if (http === undefined) return { ...DEFAULT_HTTP_ADDRESS };
  const address = typeof http === "string" ? parseHttpAddress(http) : http;
  if (typeof address.host !== "string" || address.host === "" || !isInteger(address.port, 0, 65535)) {
    throw new InvalidOptionError(
      `http must be { host, port } with a host name and PORT in 0..65535 (e.g. { host: "127.0.0.1", port: 7477 }), ` +
        `got ${JSON.stringify(http)}`,
    );
  }
  // Host names are checked again once bound (startHttpApi): only then is their address known.
  if (!httpPublic && isPublicHost(address.host)) {
    throw new InvalidOptionError(publicBindRefusal(address.host, address.port));
  }
  return address;
}

/** Refuses a path the kernel would truncate (the bind would "succeed" on another name). */
function checkSocketPathLength(path: string, name: string): void {
  const problem = socketPathTooLong(path);
  if (problem !== undefined) throw new InvalidOptionError(`${name}: ${problem}`);
}
