/**
 * Writer threads started again after one failed, in a row, before the client gives up and turns tracking
 * off (state "closed"): a thread that keeps failing (a bug, the process's thread limit) must not cost the
 * workload a thread start and a snapshot of every device forever.
 */
export const MAX_WRITER_RESTARTS = 5;
/** A writer thread that ran this long before it failed starts the count of failures in a row afresh. ms. */
export const WRITER_STABLE_MS = 60_000;

/** What the client does after a writer thread failed. */
export interface WriterFailureVerdict {
  /** Failures in a row, this one included (WriterFailedError.failures). */
  failures: number;
  /** Start a new writer (after the reconnect backoff); false: tracking is off. */
  restart: boolean;
}

/** The client's count of writer-thread failures and its restart policy. */
export class WriterRestarts {
  /** Failures since the client started (ClientCounters.writerFailures). */
  total = 0;
  private inRow = 0;
  private startedAtMs = 0;

  /** A writer thread is being started at `nowMs` (whether or not the start succeeds). */
  starting(nowMs: number): void {
    this.startedAtMs = nowMs;
  }

  /** The latest writer failed at `nowMs`; `closing`: the client is closing anyway (never restart). */
  failed(nowMs: number, closing: boolean): WriterFailureVerdict {
    this.total++;
    if (nowMs - this.startedAtMs >= WRITER_STABLE_MS) this.inRow = 0;
    this.inRow++;
    return { failures: this.inRow, restart: !closing && this.inRow <= MAX_WRITER_RESTARTS };
  }
}
