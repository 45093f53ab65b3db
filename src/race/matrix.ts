/**
 * The race matrix: every chosen strategy under every chosen condition, judged two ways.
 * - Schedules: explore.ts runs many forced schedules of small programs (seeded: the same programs and choices
 *   for every strategy). A clean cell is clean in every one; a failing cell names its first counterexample.
 * - Threads: run.ts runs the workload on real worker threads, tracking on and off, and judges the reports
 *   that arrived. Throughput is allocate+free pairs per second, median of the repeats, and relative to the
 *   same work with tracking off (the price of the strategy's locks and reports).
 */
import { type Channel, conditionLabel, type RaceCondition } from "./condition.js";
import { type Exploration, explore } from "./explore.js";
import { type AnomalyCounts, emptyCounts, judge } from "./judge.js";
import { REPLAY_ANOMALY_KINDS } from "./replay-anomaly-kind.js";
import { DEFAULT_PRESET, runThreads, type ThreadRun } from "./run.js";
import { STRATEGIES, type StrategyName } from "./strategy.js";

/** How much work a matrix does per cell: chosen by the caller, echoed in the report. */
export interface MatrixScale {
  threads: number;
  devices: number;
  /** Allocator changes per threaded run, over all threads. */
  operations: number;
  seed: number;
  /** Threaded runs per cell (and of each condition's baseline); throughput is their median. */
  repeat: number;
  /** Schedules explored per cell. */
  schedules: number;
}

/** Just the scale of `options` (a copy, in the report's field order). */
export function matrixScaleOf(options: MatrixScale): MatrixScale {
  const { threads, devices, operations, seed, repeat, schedules } = options;
  return { threads, devices, operations, seed, repeat, schedules };
}

export interface MatrixOptions extends MatrixScale {
  strategies: readonly StrategyName[];
  conditions: readonly RaceCondition[];
  presetName?: string;
  maxDelaySpins?: number;
  /** Called before each cell is run (for progress). */
  onCell?: (strategy: StrategyName | "tracking off", condition: string) => void;
}

/** Median, min and max of repeated measurements. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface CellReport {
  strategy: StrategyName;
  /** conditionLabel(): "fifo", "per-thread+shared-address", ... */
  condition: string;
  channel: Channel;
  crossThreadFrees: boolean;
  sharedAddress: boolean;
  /** "failing" when any explored schedule or any threaded run left the server's picture wrong. */
  verdict: "clean" | "failing";
  schedules: Exploration;
  /** What the threaded runs' reports gave, summed over the repeats. */
  threads: AnomalyCounts & {
    anomalies: number;
    /** Every repeat's replayed live set equals the allocator's on every device. */
    liveSetEqual: boolean;
    reports: number;
    allocations: number;
    frees: number;
    crossThreadFrees: number;
    views: number;
    /**
     * Share of the strategy's lock steps that found the lock held by another thread (0..1; 0 without a
     * lock): how much of the work the lock serialises, a figure that does not need free cores to show.
     */
    lockWaitShare: number;
  };
  /** Allocate+free pairs per second with tracking on, and relative to tracking off (median / median). */
  pairsPerSecond: Spread;
  baselinePairsPerSecond: Spread;
  relativeThroughput: number;
}

export interface MatrixReport extends MatrixScale {
  preset: string;
  strategies: StrategyName[];
  conditions: string[];
  cells: CellReport[];
  durationMs: number;
}

export async function runMatrix(options: MatrixOptions): Promise<MatrixReport> {
  const started = performance.now();
  const cells: CellReport[] = [];
  const threaded = (strategy: StrategyName, tracking: boolean, condition: RaceCondition) =>
    runThreads({
      strategy,
      tracking,
      condition,
      threads: options.threads,
      devices: options.devices,
      operations: options.operations,
      seed: options.seed,
      ...(options.presetName === undefined ? {} : { presetName: options.presetName }),
      ...(options.maxDelaySpins === undefined ? {} : { maxDelaySpins: options.maxDelaySpins }),
    });

  for (const condition of options.conditions) {
    const label = conditionLabel(condition);
    const baseline: number[] = [];
    const runs = new Map<StrategyName, ThreadRun[]>(options.strategies.map((s) => [s, []]));
    // Repeats interleave the strategies, so a slow spell of a shared machine spreads over all of them.
    for (let r = 0; r < options.repeat; r++) {
      options.onCell?.("tracking off", label);
      baseline.push(pairsPerSecond(await threaded("naive", false, condition)));
      for (const strategy of options.strategies) {
        options.onCell?.(strategy, label);
        runs.get(strategy)!.push(await threaded(strategy, true, condition));
      }
    }
    const baselineSpread = spread(baseline);
    for (const strategy of options.strategies) {
      const schedules = await explore(STRATEGIES[strategy], condition, {
        schedules: options.schedules,
        seed: options.seed,
      });
      const done = runs.get(strategy)!;
      const threads = threadTotals(strategy, done);
      const speed = spread(done.map(pairsPerSecond));
      cells.push({
        strategy,
        condition: label,
        channel: condition.channel,
        crossThreadFrees: condition.crossThreadFrees,
        sharedAddress: condition.sharedAddress,
        verdict:
          schedules.failing > 0 || threads.anomalies > 0 || !threads.liveSetEqual ? "failing" : "clean",
        schedules,
        threads,
        pairsPerSecond: speed,
        baselinePairsPerSecond: baselineSpread,
        relativeThroughput: round(speed.median / baselineSpread.median, 3),
      });
    }
  }
  return {
    ...matrixScaleOf(options),
    preset: options.presetName ?? DEFAULT_PRESET,
    strategies: [...options.strategies],
    conditions: options.conditions.map(conditionLabel),
    cells,
    durationMs: Math.round(performance.now() - started),
  };
}

function threadTotals(strategy: StrategyName, runs: readonly ThreadRun[]): CellReport["threads"] {
  const byKind = emptyCounts();
  let anomalies = 0;
  let liveSetEqual = true;
  let reports = 0;
  let allocations = 0;
  let frees = 0;
  let crossThreadFrees = 0;
  let views = 0;
  let lockSteps = 0;
  let lockWaits = 0;
  for (const run of runs) {
    const verdict = judge(STRATEGIES[strategy], run.events, run.snapshots);
    for (const kind of REPLAY_ANOMALY_KINDS) byKind[kind] += verdict.byKind[kind];
    anomalies += verdict.anomalies;
    // A dropped report would make the picture wrong for a reason that is not the strategy's.
    liveSetEqual &&= verdict.liveSetEqual && run.droppedReports === 0;
    reports += run.events.length;
    allocations += run.counts.allocations;
    frees += run.counts.frees;
    crossThreadFrees += run.counts.foreignFrees;
    views += run.counts.views;
    lockSteps += run.counts.lockSteps;
    lockWaits += run.counts.lockWaits;
  }
  const lockWaitShare = lockSteps === 0 ? 0 : round(lockWaits / lockSteps, 4);
  return {
    anomalies,
    ...byKind,
    liveSetEqual,
    reports,
    allocations,
    frees,
    crossThreadFrees,
    views,
    lockWaitShare,
  };
}

function pairsPerSecond(run: ThreadRun): number {
  const pairs = (run.counts.allocations + run.counts.frees) / 2;
  return Math.round(pairs / (Math.max(run.elapsedMs, 0.001) / 1000));
}

function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
