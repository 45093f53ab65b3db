import { readFileSync } from "node:fs";
import { parseProcStat } from "../protocol/proc-stat.js";

/** Answers "is the process that opened this session still running?". Injected so tests can fake it. */
export interface ProcessLiveness {
  /** `startTicks` 0 = unknown: only the pid is checked. */
  isAlive(pid: number, startTicks: number): boolean;
}

/**
 * Linux: /proc/<pid>/stat. The process is gone when the file is missing, when it is a zombie (state Z
 * or X: a SIGKILLed child whose parent has not waited yet still has a stat file), or when its start
 * time (field 22) differs from the one the client stated (the pid was reused by another process).
 * Where /proc cannot tell, `kill(pid, 0)` decides: ESRCH = gone, EPERM = alive (another user's process).
 */
export const procLiveness: ProcessLiveness = {
  isAlive(pid, startTicks) {
    if (!Number.isInteger(pid) || pid <= 0) return false;
    let stat: string | undefined;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ESRCH") return false;
    }
    if (stat !== undefined) {
      const parsed = parseProcStat(stat);
      if (parsed !== undefined) {
        const state = parsed.state;
        if (state === "Z" || state === "X" || state === "x") return false;
        if (startTicks !== 0 && parsed.startTicks !== 0 && parsed.startTicks !== startTicks) return false;
        return true;
      }
    }
    return killZero(pid);
  },
};

function killZero(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
