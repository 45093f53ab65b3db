import { loadavg } from "node:os";
import type { RunnerOptions } from "./args.js";
import { type Benchmark, type BenchmarkContext, MIN_MEASURED_RUNS, type RunValues } from "./benchmark.js";
import { BenchmarkFailedError, BenchmarkSkippedError, UnknownBenchmarkError } from "./errors.js";
import { describeMachine, roundLoad } from "./machine.js";
import type { BenchReport, MetricResult } from "./report.js";
import { median } from "./stats.js";

export interface RunnerIo {
  /** Progress lines (stderr in the CLI). */
  progress(line: string): void;
}

/** The benchmarks `only` selects (by benchmark name or by any of its metric names), in list order. */
export function selectBenchmarks(benchmarks: readonly Benchmark[], only: readonly string[]): Benchmark[] {
  if (only.length === 0) return [...benchmarks];
  const known = benchmarks.flatMap((b) => [b.name, ...b.metrics.map((m) => m.name)]);
  for (const name of only) {
    if (!known.includes(name)) throw new UnknownBenchmarkError(name, [...new Set(known)]);
  }
  return benchmarks.filter((b) => only.includes(b.name) || b.metrics.some((m) => only.includes(m.name)));
}

/**
 * Runs each selected benchmark: open, warm-up, measured runs, close. A benchmark that throws is
 * recorded with its error and the others still run.
 */
export async function runBenchmarks(
  options: Pick<RunnerOptions, "quick" | "only" | "runs">,
  benchmarks: readonly Benchmark[],
  io: RunnerIo,
): Promise<BenchReport> {
  const selected = selectBenchmarks(benchmarks, options.only);
  const machine = describeMachine();
  const startedAt = new Date();
  const started = performance.now();
  const results: Record<string, MetricResult> = {};
  for (const [index, benchmark] of selected.entries()) {
    const tag = `[${index + 1}/${selected.length}] ${benchmark.name}`;
    const context: BenchmarkContext = {
      quick: options.quick,
      progress: (message) => io.progress(`${tag}: ${message}`),
    };
    const runCount = Math.max(MIN_MEASURED_RUNS, options.runs ?? benchmark.runs ?? MIN_MEASURED_RUNS);
    const warmups = benchmark.warmupRuns ?? 1;
    const runs: RunValues[] = [];
    let error: string | undefined;
    let skipped: string | undefined;
    const benchStarted = performance.now();
    try {
      io.progress(`${tag}: opening`);
      const open = await benchmark.open(context);
      try {
        const runLimitMs = options.quick ? QUICK_RUN_LIMIT_MS : RUN_LIMIT_MS;
        for (let i = 0; i < warmups; i++) {
          io.progress(`${tag}: warm-up ${i + 1}/${warmups}`);
          await withinLimit(open.runOnce(), runLimitMs);
        }
        for (let i = 0; i < runCount; i++) {
          const values = await withinLimit(open.runOnce(), runLimitMs);
          runs.push(values);
          io.progress(`${tag}: run ${i + 1}/${runCount} ${describeRun(values)}`);
        }
      } finally {
        await open.close();
      }
    } catch (err) {
      if (err instanceof BenchmarkSkippedError) {
        skipped = err.message;
        io.progress(`${tag}: SKIPPED ${skipped}`);
      } else {
        error = err instanceof Error ? err.message : String(err);
        io.progress(`${tag}: FAILED ${error}`);
      }
    }
    io.progress(`${tag}: done in ${((performance.now() - benchStarted) / 1000).toFixed(1)} s`);
    for (const metric of benchmark.metrics) {
      const values = runs.map((run) => run[metric.name]).filter((v): v is number => typeof v === "number");
      const measured = values.length > 0 && error === undefined;
      const value = measured ? median(values) : null;
      const target = metric.target ?? null;
      results[metric.name] = {
        value,
        unit: metric.unit,
        runs: values,
        min: measured ? Math.min(...values) : null,
        max: measured ? Math.max(...values) : null,
        target,
        comparison: metric.comparison,
        met:
          value !== null &&
          (target === null || (metric.comparison === ">=" ? value >= target : value <= target)),
        tier: benchmark.tier,
        ...(skipped !== undefined
          ? { skipped }
          : error !== undefined
            ? { error }
            : measured
              ? {}
              : { error: "no run reported this metric" }),
      };
    }
  }
  machine.loadavgEnd = roundLoad(loadavg());
  return {
    machine,
    quick: options.quick,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    results,
  };
}

/** A run that takes longer than this is a hung fixture, not a slow result: fail it and move on, ms. */
const RUN_LIMIT_MS = 180_000;
const QUICK_RUN_LIMIT_MS = 30_000;

function withinLimit<T>(work: Promise<T>, limitMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BenchmarkFailedError(`a run took longer than ${limitMs} ms`)),
      limitMs,
    );
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

function describeRun(values: RunValues): string {
  return Object.entries(values)
    .map(([name, value]) => `${name}=${Number(value.toPrecision(4))}`)
    .join(" ");
}
