// Which requests the HTTP API answers, by the Host they name, and which addresses it may bind. A web page
// in a browser on this host can point a name it controls at 127.0.0.1 (DNS rebinding) and read the API as
// its own origin; the browser still sends that name as Host, so only names that mean this machine are
// answered. The port is not compared: the name is what a rebinding page cannot fake.
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { InvalidOptionError } from "./errors.js";

/** Host names every HTTP API answers to (besides its bound address and `--http-allow-host` names). */
export const LOOPBACK_HOST_NAMES: readonly string[] = ["localhost", "127.0.0.1", "::1"];

const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms (addresses only this machine reaches). */
export function isLoopbackAddress(address: string): boolean {
  const ip = address.toLowerCase().replace(/^::ffff:(?=\d+\.)/, "");
  if (isIP(ip) === 4) return ip.startsWith("127.");
  return ip === "::1" || ip === "0:0:0:0:0:0:0:1";
}

/** Whether binding `host` is known before binding to reach beyond this machine (wildcards, other IPs). */
export function isPublicHost(host: string): boolean {
  const name = host.toLowerCase();
  if (name === "localhost") return false;
  return isIP(name) !== 0 && !isLoopbackAddress(name);
}

/** Why `address` needs `--http-public`, as the message of the InvalidOptionError that refuses it. */
export function publicBindRefusal(host: string, port: number): string {
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return (
    `--http ${address} is not a loopback address: the HTTP API (pids, process names) would be reachable ` +
    "from other machines. Bind 127.0.0.1 (the default), or pass --http-public (httpPublic: true) to mean it"
  );
}

/** Checks and normalises one `--http-allow-host NAME` (a DNS name or an IP address, no port). */
export function parseAllowedHost(text: string): string {
  const name = text
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  if (isIP(name) === 0 && (!HOST_NAME.test(name) || name.length > 253)) {
    throw new InvalidOptionError(
      `--http-allow-host "${text}" must be a host name or IP address without a port (e.g. monitor.example.org)`,
    );
  }
  return name;
}

/** The host name of a Host header (lower case, IPv6 without brackets), or undefined when malformed. */
export function hostHeaderName(header: string): string | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/i.exec(header);
  if (match === null) return undefined;
  return (match[1] ?? match[2]!).toLowerCase();
}

/** The names a running HTTP API answers to. */
export class HostAllowList {
  private readonly names = new Set<string>(LOOPBACK_HOST_NAMES);

  /**
   * `requested`: the host as configured (a name the user chose); `bound`: the address bound; `extra`:
   * `--http-allow-host` names. A wildcard bind also answers to every address of this machine's
   * interfaces (an IP address as Host cannot come from a rebound name).
   */
  constructor(requested: string, bound: string, extra: readonly string[]) {
    this.names.add(requested.toLowerCase());
    this.names.add(bound.toLowerCase());
    for (const name of extra) this.names.add(name);
    if (bound !== "0.0.0.0" && bound !== "::") return;
    for (const list of Object.values(networkInterfaces())) {
      for (const entry of list ?? []) this.names.add(entry.address.toLowerCase());
    }
  }

  /** Whether a request with this Host header is answered; no Host (HTTP/1.0) is refused too. */
  allows(header: string | undefined): boolean {
    if (header === undefined) return false;
    const name = hostHeaderName(header);
    return name !== undefined && this.names.has(name);
  }
}
