import { readFileSync } from "node:fs";
import { parseProcStat } from "../../protocol/proc-stat.js";

/** What the server can learn about a legacy client's pid (legacy frames carry only the pid). */
export interface LegacyProcessIdentity {
  /** /proc/<pid>/stat field 22; 0 when unknown (then the reaper checks the pid only). */
  startTicks: number;
  /** /proc/<pid>/comm, or "pid <n>" when unreadable. */
  name: string;
}

export type IdentifyProcess = (pid: number) => LegacyProcessIdentity;

/** Reads /proc once, when a pid is first seen; failures fall back to "unknown" values, never throw. */
export const procIdentity: IdentifyProcess = (pid) => {
  let startTicks = 0;
  let name = `pid ${pid}`;
  try {
    startTicks = parseProcStat(readFileSync(`/proc/${pid}/stat`, "latin1"))?.startTicks ?? 0;
  } catch {
    // not visible (exited, or another pid namespace)
  }
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    if (comm !== "") name = comm;
  } catch {
    // keep the fallback name
  }
  return { startTicks, name };
};

/**
 * Session id of a legacy process: 32 hex characters like a native one, "4c454741" ("LEGA" in ASCII)
 * then the pid (8 hex digits) and the start ticks (16 hex digits). The same process reconnecting finds
 * its session again; a reused pid (other start ticks) gets a new one.
 */
export function legacySessionId(pid: number, startTicks: number): string {
  return `4c454741${(pid >>> 0).toString(16).padStart(8, "0")}${startTicks.toString(16).padStart(16, "0")}`;
}
