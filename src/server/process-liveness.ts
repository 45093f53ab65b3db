import { readFileSync } from "node:fs";
import { parseProcStat } from "../protocol/proc-stat.js";

/** Answers "is the process that opened this session still running?". Injected so tests can fake it. */
export interface ProcessLiveness {
  /** `startTicks` 0 = unknown: only the pid is checked. */
  isAlive(pid: number, startTicks: number): boolean;
}

/** `processStartTicks` of a pid that names no running process. */
export const PROCESS_GONE = -1;

/**
 * Linux: /proc/<pid>/stat. The process is gone when the file is missing, or when it is a zombie (state Z
 * or X: a SIGKILLed child whose parent has not waited yet still has a stat file). Otherwise the answer is
 * its start time (field 22, clock ticks since boot; > 0 for every process but the first). Where /proc
 * cannot tell, `kill(pid, 0)` decides: ESRCH = gone, EPERM = alive (another user's process), and the start
 * time is unknown (0). A number, not an object: the shared-memory reader asks this for every slot it reads.
 */
export function processStartTicks(pid: number): number {
  if (!Number.isInteger(pid) || pid <= 0) return PROCESS_GONE;
  let stat: string | undefined;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") return PROCESS_GONE;
  }
  if (stat !== undefined) {
    const parsed = parseProcStat(stat);
    if (parsed !== undefined) {
      const state = parsed.state;
      if (state === "Z" || state === "X" || state === "x") return PROCESS_GONE;
      return parsed.startTicks;
    }
  }
  return processExists(pid) ? 0 : PROCESS_GONE;
}

/**
 * `processStartTicks`, plus: a process whose start time differs from the one the client stated is
 * another process (the pid was reused).
 */
export const procLiveness: ProcessLiveness = {
  isAlive(pid, startTicks) {
    const actual = processStartTicks(pid);
    if (actual === PROCESS_GONE) return false;
    return startTicks === 0 || actual === 0 || actual === startTicks;
  },
};

/** kill(pid, 0): ESRCH = gone; success or EPERM (another user's process) = exists. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
