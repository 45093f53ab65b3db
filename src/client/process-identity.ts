import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { parseProcStat } from "../protocol/proc-stat.js";

/**
 * Who this process is, as the HELLO frame states it. pid + start ticks identify a process across pid
 * reuse: a pid that is alive with other start ticks is another process.
 */
export interface ProcessIdentity {
  pid: number;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22); 0 when unknown. */
  startTicks: number;
  name: string;
}

/**
 * Start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), or 0 when the process
 * does not exist or /proc is unavailable. Never throws: the server's reaper calls it on arbitrary pids.
 */
export function readProcessStartTicks(pid: number): number {
  if (!Number.isInteger(pid) || pid <= 0) return 0;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return 0;
  }
  return parseStartTicks(stat);
}

/** Field 22 of a /proc/<pid>/stat line (start ticks), or 0 when the line is not one. */
export function parseStartTicks(statLine: string): number {
  return parseProcStat(statLine)?.startTicks ?? 0;
}

/** This process's identity; `name` defaults to the script name (or the executable when there is none). */
export function currentProcessIdentity(name?: string): ProcessIdentity {
  return {
    pid: process.pid,
    startTicks: readProcessStartTicks(process.pid),
    name: name ?? defaultProcessName(),
  };
}

function defaultProcessName(): string {
  const script = process.argv[1];
  if (script !== undefined && script !== "") return basename(script);
  return basename(process.argv0 || process.title || "node");
}
