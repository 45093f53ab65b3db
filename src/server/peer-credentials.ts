import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { parseProcStat } from "../protocol/proc-stat.js";

/**
 * Who is at the other end of a client connection, as the kernel records it (Linux SO_PEERCRED: the
 * process that called connect()), not as the client claims it. A HELLO's pid must be this pid; the uid
 * is what per-uid connection caps count.
 */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
  /** Start time of `pid` in clock ticks since boot (/proc/<pid>/stat field 22) at accept; 0 = unreadable. */
  startTicks: number;
}

/**
 * Where the server learns its peers' credentials. The default reads them from the kernel through the
 * native addon (native/peercred); tests inject fakes, or NO_PEER_CREDENTIALS to run without it.
 */
export interface PeerCredentialSource {
  /** false: this source never knows (no addon, other OS, disabled); the server keeps the HELLO checks alone. */
  readonly available: boolean;
  /** Why it is not available, for the one warning at start; undefined when available. */
  readonly unavailableReason: string | undefined;
  /** The peer of a connected Unix socket; undefined when it cannot be read (always, when unavailable). */
  of(socket: Socket): PeerCredentials | undefined;
}

/** Set to "off" to run the server without the addon (as if it could not load). */
export const PEER_CREDENTIALS_ENV = "ALLOCWATCH_PEER_CREDENTIALS";

/** A source that never knows: the server as it runs where the addon cannot load. */
export function noPeerCredentials(reason: string): PeerCredentialSource {
  return { available: false, unavailableReason: reason, of: () => undefined };
}

/** The native addon's functions (native/peercred/peercred.c). */
export interface PeercredAddon {
  peerCredentials(fd: number): { pid: number; uid: number; gid: number };
  /** Absent from an addon built before it existed (a stale native/build): descriptor-dup.ts says so. */
  dupDescriptor?(fd: number): number;
}

// Built by scripts/build-native.mjs into <package>/native/build; this file is <package>/dist/src/server.
const ADDON_PATH = fileURLToPath(new URL("../../../native/build/peercred.node", import.meta.url));

let loaded: { addon: PeercredAddon } | { problem: string } | undefined;

/**
 * Loads the addon once (lazily: a server that never starts never loads it); the one loader for every
 * user of the addon (peer credentials here, descriptor copies in descriptor-dup.ts).
 */
export function loadPeercredAddon(): { addon: PeercredAddon } | { problem: string } {
  if (loaded !== undefined) return loaded;
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as PeercredAddon;
    if (typeof addon.peerCredentials !== "function") throw new Error("it has no peerCredentials function");
    loaded = { addon };
  } catch (error) {
    const detail = (error as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" ? "not built" : String(error);
    loaded = { problem: `${ADDON_PATH}: ${detail} (npm ci or npm run build builds it; needs a C compiler)` };
  }
  return loaded;
}

/** The kernel's word through the addon; NO credentials (with the reason) when it cannot load or is turned off. */
export function kernelPeerCredentials(
  env: Readonly<Record<string, string | undefined>> = process.env,
): PeerCredentialSource {
  if (env[PEER_CREDENTIALS_ENV] === "off")
    return noPeerCredentials(`turned off by ${PEER_CREDENTIALS_ENV}=off`);
  const result = loadPeercredAddon();
  if ("problem" in result) return noPeerCredentials(result.problem);
  const { addon } = result;
  return {
    available: true,
    unavailableReason: undefined,
    of(socket) {
      const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
      if (typeof fd !== "number" || fd < 0) return undefined;
      let credentials: { pid: number; uid: number; gid: number };
      try {
        credentials = addon.peerCredentials(fd);
      } catch {
        return undefined;
      }
      return { ...credentials, startTicks: startTicksOf(credentials.pid) };
    },
  };
}

/** /proc/<pid>/stat field 22, or 0 when it cannot be read (pid 0: a peer outside our PID namespace). */
function startTicksOf(pid: number): number {
  if (!Number.isInteger(pid) || pid <= 0) return 0;
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, "latin1"))?.startTicks ?? 0;
  } catch {
    return 0;
  }
}
