// Waiting in tests without fixed sleeps: poll a condition until it holds or a generous deadline passes
// (a loaded machine makes a pass slower, never a failure), and say what was awaited when it does not.
import { setImmediate as nextTurn } from "node:timers/promises";

export interface WaitOptions {
  /** What is awaited, for the failure message: "the session to be released". */
  what: string;
  /** Deadline, ms. Default 10 000: only a failing test ever waits that long. */
  timeoutMs?: number;
  /** Polling period, ms. Default 5. */
  intervalMs?: number;
  /** The state worth showing when the deadline passes (e.g. the frames received so far). */
  detail?: () => string | undefined;
}

export const DEFAULT_WAIT_MS = 10_000;

type Found<T> = Exclude<T, undefined | null | false>;

/**
 * Resolves with the probe's first value that is not undefined, null or false; rejects with
 * "timed out after N ms waiting for <what>" once `timeoutMs` has passed. A probe that throws fails at once.
 */
export async function waitFor<T>(probe: () => T | Promise<T>, options: WaitOptions): Promise<Found<T>> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAIT_MS;
  const intervalMs = options.intervalMs ?? 5;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value as Found<T>;
    if (performance.now() > deadline) {
      const detail = options.detail?.();
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${options.what}${detail === undefined ? "" : `: ${detail}`}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Resolves after `turns` full turns of the event loop, each with an I/O poll: bytes already written to a
 * local socket have then been read by a server running in this process. Not a sleep: no wall-clock time.
 */
export async function eventLoopTurns(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await nextTurn();
}
