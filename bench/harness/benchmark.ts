/**
 * The contract between the runner and one benchmark. A benchmark opens a fixture once (servers,
 * child processes, pre-encoded data), then the runner calls `runOnce` for the warm-up and for every
 * measured run, and finally closes it. One benchmark may report several metrics (e.g. 1 and 8
 * connections); the first metric is its headline.
 */

/** ">=": bigger is better (throughput). "<=": smaller is better (latency, overhead, bytes). */
export type TargetComparison = ">=" | "<=";

export interface MetricSpec {
  /** Result name in the table and the JSON, snake_case with its unit in it (e.g. `summary_query_ms`). */
  name: string;
  /** Unit of `value`, e.g. "events/s", "ns/event", "ms", "bytes". */
  unit: string;
  /** Target on the reference machine (2 cores); undefined for informational metrics. */
  target?: number;
  comparison: TargetComparison;
}

/** Values of one run, keyed by metric name. A metric missing from a run is reported as not measured. */
export type RunValues = Record<string, number>;

export interface BenchmarkContext {
  /** Reduced sizes: every benchmark together in well under 60 s. */
  readonly quick: boolean;
  /** One line of progress for long runs (stderr). */
  progress(message: string): void;
}

export interface OpenBenchmark {
  runOnce(): Promise<RunValues>;
  close(): Promise<void>;
}

export interface Benchmark {
  /** Benchmark id (the headline metric's name). */
  name: string;
  tier: "micro" | "e2e";
  /** One line: what is measured and how. */
  description: string;
  metrics: readonly MetricSpec[];
  open(context: BenchmarkContext): Promise<OpenBenchmark>;
  /** Runs measured after the warm-up; the runner never does fewer than MIN_MEASURED_RUNS. */
  runs?: number;
  /** Warm-up runs, discarded; default 1. */
  warmupRuns?: number;
}

export const MIN_MEASURED_RUNS = 5;
