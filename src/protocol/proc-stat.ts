/**
 * The fields of a Linux /proc/<pid>/stat line that identify a process. HELLO's "process start ticks" is
 * field 22 (start time in clock ticks since boot): pid + start ticks name one process across pid reuse.
 * Pure parsing, shared by the client (stating its identity) and the server (checking liveness).
 */
export interface ProcStat {
  /** Field 3, the scheduler state: R, S, D, Z (zombie), X (dead), ... */
  state: string;
  /** Field 22; 0 when the field is missing or not a safe integer. */
  startTicks: number;
}

/**
 * Parses a /proc/<pid>/stat line, or returns undefined when it is not one. Field 2 is the command name in
 * parentheses and may itself hold spaces and ')' characters, so fields are counted from the LAST ')'.
 */
export function parseProcStat(statLine: string): ProcStat | undefined {
  const close = statLine.lastIndexOf(")");
  if (close < 0) return undefined;
  const fields = statLine
    .slice(close + 2)
    .trimEnd()
    .split(" ");
  const ticks = Number(fields[22 - 3]);
  return {
    state: fields[0] ?? "",
    startTicks: Number.isSafeInteger(ticks) && ticks >= 0 ? ticks : 0,
  };
}
