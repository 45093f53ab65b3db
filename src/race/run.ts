/**
 * The race experiment: the same concurrent workload on a device shared by W worker threads, run once with
 * the original's reporting and once with allocwatch's, each report stream replayed the way the matching
 * server would apply it (replay.ts) and its live set compared with the allocator's (live-set-comparison.ts).
 */
import { Worker } from "node:worker_threads";
import type { AllocatorSnapshot } from "../device/allocator/types.js";
import { Device } from "../device/device.js";
import { MemoryType, type MemoryTypeName } from "../device/memory-type.js";
import { DEVICE_PRESETS } from "../device/presets.js";
import { HandoffStack } from "./handoff.js";
import { compareLiveSets } from "./live-set-comparison.js";
import { workerSeed } from "./random.js";
import { type ReplayEvent, replayEvents, streamKey } from "./replay.js";
import { REPLAY_ANOMALY_KINDS, type ReplayAnomalyKind } from "./replay-anomaly-kind.js";
import { decodeReports } from "./report-channel.js";
import { StartGate } from "./start-gate.js";
import type { RaceWorkerData, RaceWorkerMessage } from "./worker.js";
import type { ReportingMode, WorkloadCounts, WorkloadParams } from "./workload.js";

export interface RaceOptions {
  /** Worker threads sharing the device. */
  threads: number;
  /** Allocator changes (allocations + frees) over all threads, per run. */
  operations: number;
  seed: number;
  /** Device preset name (DEVICE_PRESETS). Default "wormhole_b0_n150". */
  presetName?: string;
  /** Largest report delay, spin-loop iterations. Default 2000 (about a microsecond or two). */
  maxDelaySpins?: number;
  /** Reports per batch on each worker's channel. Default 256. */
  recordsPerBatch?: number;
  /** Called as workers make progress (operations done over all threads of that run). */
  onProgress?: (mode: ReportingMode, operationsDone: number, operationsTotal: number) => void;
}

/** One run's raw outcome: reports in arrival order and the allocator's own live set afterwards. */
export interface ReportingRun {
  mode: ReportingMode;
  deviceId: number;
  events: ReplayEvent[];
  snapshot: AllocatorSnapshot;
  counts: WorkloadCounts;
  durationMs: number;
}

/** Anomalies per kind; in `race --json` they are keys of each mode's report, e.g. `naive.UNKNOWN_FREE`. */
export type AnomalyCounts = Record<ReplayAnomalyKind, number>;

export interface RaceModeReport extends AnomalyCounts {
  anomalies: number;
  events: number;
  /** The replayed live set equals the allocator's (ordered: by allocation id; naive: by type, address, size). */
  liveSetEqual: boolean;
  /** Live allocations the replay believes in, and the allocator's count. */
  replayedLive: number;
  allocatorLive: number;
  allocations: number;
  frees: number;
  /** Frees performed on a thread other than the allocating one. */
  crossThreadFrees: number;
  durationMs: number;
}

export interface RaceReport {
  threads: number;
  operations: number;
  seed: number;
  preset: string;
  memoryType: MemoryTypeName;
  naive: RaceModeReport;
  ordered: RaceModeReport;
  /** The ordered replay's live set equals the allocator's snapshot. */
  liveSetsEqual: boolean;
  durationMs: number;
}

const DEFAULT_PRESET = "wormhole_b0_n150";
const DEVICE_ID = 0;

/** Run the workload once with the given reporting mode; resolves with the merged report stream. */
export async function runReportingWorkload(mode: ReportingMode, options: RaceOptions): Promise<ReportingRun> {
  const preset = DEVICE_PRESETS[options.presetName ?? DEFAULT_PRESET];
  if (preset === undefined) {
    throw new Error(
      `unknown preset "${options.presetName}": use one of ${Object.keys(DEVICE_PRESETS).join(", ")}`,
    );
  }
  const started = performance.now();
  const device = Device.create(preset, { id: DEVICE_ID, shared: true });
  const handoff = HandoffStack.create(256);
  const gate = StartGate.create(options.threads);
  const events: ReplayEvent[] = [];
  const counts: WorkloadCounts = { allocations: 0, frees: 0, foreignFrees: 0, handedOff: 0 };
  const progress = new Array<number>(options.threads).fill(0);
  const total = options.operations;

  const workers: Promise<void>[] = [];
  for (let w = 0; w < options.threads; w++) {
    const share = Math.floor(total / options.threads) + (w < total % options.threads ? 1 : 0);
    const params: WorkloadParams = {
      mode,
      workerIndex: w,
      operations: share,
      seed: workerSeed(options.seed, w),
      memoryType: MemoryType.DRAM,
      pageSizeBytes: 2048,
      maxPages: 32,
      maxLive: 64,
      handoffShare: 0.3,
      foreignFreeShare: 0.5,
      maxDelaySpins: options.maxDelaySpins ?? 2000,
      progressEvery: 4096,
    };
    const data: RaceWorkerData = {
      device: device.share(),
      handoff: handoff.handle,
      params,
      recordsPerBatch: options.recordsPerBatch ?? 256,
      gate: gate.memory,
      parties: options.threads,
    };
    workers.push(
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: data });
        let done = false;
        worker.on("message", (message: RaceWorkerMessage) => {
          if (message.kind === "reports") {
            // Arrival order across workers is whatever the threads and the event loop make it.
            decodeReports(message.records, 0, events);
          } else if (message.kind === "progress") {
            progress[w] = message.operationsDone;
            options.onProgress?.(
              mode,
              progress.reduce((a, b) => a + b, 0),
              total,
            );
          } else {
            done = true;
            counts.allocations += message.counts.allocations;
            counts.frees += message.counts.frees;
            counts.foreignFrees += message.counts.foreignFrees;
            counts.handedOff += message.counts.handedOff;
          }
        });
        worker.on("error", reject);
        worker.on("exit", (code) => {
          if (done && code === 0) resolve();
          else reject(new Error(`race worker ${w} exited with code ${code} before finishing`));
        });
      }),
    );
  }
  await Promise.all(workers);
  const snapshot = device.allocator.snapshot();
  return { mode, deviceId: DEVICE_ID, events, snapshot, counts, durationMs: performance.now() - started };
}

/** Replay a run's reports as the matching server would, and compare with the allocator's live set. */
export function judgeRun(run: ReportingRun): RaceModeReport {
  const replay = replayEvents(run.events, { mode: run.mode });
  const replayed = replay.live.get(streamKey(0, run.deviceId)) ?? [];
  const comparison = compareLiveSets(run.mode, replayed, run.snapshot.allocations);
  const byKind = {} as AnomalyCounts;
  for (const kind of REPLAY_ANOMALY_KINDS) byKind[kind] = replay.byKind[kind];
  return {
    anomalies: replay.anomalies,
    ...byKind,
    events: replay.events,
    liveSetEqual: comparison.equal,
    replayedLive: replayed.length,
    allocatorLive: run.snapshot.allocations.length,
    allocations: run.counts.allocations,
    frees: run.counts.frees,
    crossThreadFrees: run.counts.foreignFrees,
    durationMs: Math.round(run.durationMs),
  };
}

export async function runRace(options: RaceOptions): Promise<RaceReport> {
  const started = performance.now();
  const naive = judgeRun(await runReportingWorkload("naive", options));
  const ordered = judgeRun(await runReportingWorkload("ordered", options));
  return {
    threads: options.threads,
    operations: options.operations,
    seed: options.seed,
    preset: options.presetName ?? DEFAULT_PRESET,
    memoryType: "DRAM",
    naive,
    ordered,
    liveSetsEqual: ordered.liveSetEqual,
    durationMs: Math.round(performance.now() - started),
  };
}
