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
 * A benchmark that cannot run on this machine (e.g. no C compiler for the C client's benchmark): thrown by
 * `open`, reported as skipped with this reason, and not a failure of the run.
 */
export class BenchmarkSkippedError extends Error {
  override readonly name = "BenchmarkSkippedError";
  readonly code = "BENCH_SKIPPED";
}
