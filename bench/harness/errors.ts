/** Failures of the benchmark runner, each with a stable `code`. */

export class BenchUsageError extends Error {
  override readonly name = "BenchUsageError";
  readonly code = "BENCH_USAGE";
}

export class UnknownBenchmarkError extends Error {
  override readonly name = "UnknownBenchmarkError";
  readonly code = "BENCH_UNKNOWN";
  constructor(requested: string, known: readonly string[]) {
    super(`no benchmark or metric named "${requested}"; known: ${known.join(", ")}`);
  }
}

/** A benchmark's fixture broke (child exited, server refused, a run produced no value). */
export class BenchmarkFailedError extends Error {
  override readonly name = "BenchmarkFailedError";
  readonly code = "BENCH_FAILED";
}

/**
 * A benchmark that cannot run on this machine (e.g. python3 missing) and says why: reported as skipped,
 * with the reason, and not as a failure.
 */
export class BenchmarkSkippedError extends Error {
  override readonly name = "BenchmarkSkippedError";
  readonly code = "BENCH_SKIPPED";
}
