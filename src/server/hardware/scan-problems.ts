import type { Logger } from "pino";

/** Distinct problems remembered (each logged once); past it, new problems are not logged. */
export const MAX_REMEMBERED_PROBLEMS = 256;

/**
 * The scanner's warnings: each distinct problem (an unreadable path with its error code, a cap reached…)
 * is logged once for the scanner's lifetime, so a scan every second never floods the log. The key names
 * the problem; keys carry no pids, so their number stays small (devices × attributes × error codes).
 */
export class ScanProblems {
  private readonly seen = new Set<string>();

  constructor(private readonly log: Pick<Logger, "warn">) {}

  /** Logs `message` with `fields` unless the problem `key` was logged before. */
  report(key: string, fields: Record<string, unknown>, message: string): void {
    if (this.seen.has(key) || this.seen.size >= MAX_REMEMBERED_PROBLEMS) return;
    this.seen.add(key);
    this.log.warn({ problem: key, ...fields }, message);
  }

  /** How many distinct problems were logged. */
  get count(): number {
    return this.seen.size;
  }
}

/** The errno code of a failed fs call ("ENOENT"), or "unknown". */
export function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? "unknown";
}
