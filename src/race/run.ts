/**
 * One cell of the race, run for real: W worker threads share D devices and run one strategy's steps under
 * one condition (or the same work with tracking off); the main thread collects the reports in the order
 * they reach it, as the server would.
 */
import { Worker } from "node:worker_threads";
import type { AllocatorSnapshot } from "../device/allocator/types.js";
import { Device } from "../device/device.js";
import { MemoryType } from "../device/memory-type.js";
import { DEVICE_PRESETS } from "../device/presets.js";
import type { RaceCondition } from "./condition.js";
import { HandoffStack } from "./handoff.js";
import { workerSeed } from "./random.js";
import type { ReplayEvent } from "./replay.js";
import { decodeReports } from "./report-channel.js";
import { SharedReportLog } from "./report-log.js";
import { StartGate } from "./start-gate.js";
import type { StrategyName } from "./strategy.js";
import type { RaceWorkerData, RaceWorkerMessage, WorkerChannel } from "./worker.js";
import { type WorkloadCounts, type WorkloadParams, zeroWorkloadCounts } from "./workload.js";

export const DEFAULT_PRESET = "wormhole_b0_n150";

export interface ThreadRunOptions {
  strategy: StrategyName;
  /** false: the same work without locks or reports (the throughput baseline). */
  tracking: boolean;
  condition: RaceCondition;
  /** Worker threads. */
  threads: number;
  /** Devices the threads share (each operation picks one). */
  devices: number;
  /** Allocator changes (allocations + frees) over all threads. */
  operations: number;
  seed: number;
  /** Device preset name (DEVICE_PRESETS). Default "wormhole_b0_n150". */
  presetName?: string;
  /** Largest window between a change and its report, spin-loop iterations. Default 2000 (a microsecond or two). */
  maxDelaySpins?: number;
  /** Reports per batch on a per-thread connection. Default 64. */
  recordsPerBatch?: number;
}

export interface ThreadRun {
  /** Reports in the order they reached the main thread. */
  events: ReplayEvent[];
  /** Each device's allocator live set afterwards. */
  snapshots: Map<number, AllocatorSnapshot>;
  counts: WorkloadCounts;
  /** The slowest worker's time from the start gate to its last report, ms. */
  elapsedMs: number;
  /** Reports a log had no room for (sized for the run: 0 unless something is wrong). */
  droppedReports: number;
}

/** Handed-over buffers waiting for another thread, at most. */
const HANDOFF_CAPACITY = 256;
/** Records the main thread copies from one async queue per turn: a drainer's batch. */
const DRAIN_BATCH = 64;

export function presetOf(name: string | undefined) {
  const preset = DEVICE_PRESETS[name ?? DEFAULT_PRESET];
  if (preset === undefined) {
    throw new Error(`unknown preset "${name}": use one of ${Object.keys(DEVICE_PRESETS).join(", ")}`);
  }
  return preset;
}

export async function runThreads(options: ThreadRunOptions): Promise<ThreadRun> {
  const preset = presetOf(options.presetName);
  const devices: Device[] = [];
  for (let d = 0; d < options.devices; d++) devices.push(Device.create(preset, { id: d, shared: true }));
  const lockWords = new SharedArrayBuffer((1 + options.devices) * 4);
  const handoff = HandoffStack.create(HANDOFF_CAPACITY);
  const gate = StartGate.create(options.threads);
  const events: ReplayEvent[] = [];
  const counts = zeroWorkloadCounts();
  const { channel } = options.condition;
  const total = options.operations;
  // Each operation makes at most two reports (the buffer's and its view's).
  const fifo =
    options.tracking && channel === "fifo" ? SharedReportLog.create(2 * total + 2, true) : undefined;
  const queues: SharedReportLog[] = [];
  let elapsedMs = 0;

  const workers: Promise<void>[] = [];
  for (let w = 0; w < options.threads; w++) {
    const share = Math.floor(total / options.threads) + (w < total % options.threads ? 1 : 0);
    let workerChannel: WorkerChannel = { kind: "none" };
    if (fifo !== undefined) workerChannel = { kind: "log", log: fifo.handle };
    else if (options.tracking && channel === "async-queue") {
      const queue = SharedReportLog.create(2 * share + 2, false);
      queues.push(queue);
      workerChannel = { kind: "log", log: queue.handle };
    } else if (options.tracking) {
      workerChannel = { kind: "port", recordsPerBatch: options.recordsPerBatch ?? 64 };
    }
    const params: WorkloadParams = {
      strategy: options.strategy,
      tracking: options.tracking,
      condition: options.condition,
      workerIndex: w,
      operations: share,
      seed: workerSeed(options.seed, w),
      memoryType: MemoryType.DRAM,
      pageSizeBytes: 2048,
      maxPages: 32,
      maxLive: 64,
      handoffShare: 0.3,
      foreignFreeShare: 0.5,
      viewShare: 0.3,
      maxDelaySpins: options.maxDelaySpins ?? 2000,
    };
    const data: RaceWorkerData = {
      devices: devices.map((d) => d.share()),
      lockWords,
      handoff: handoff.handle,
      params,
      channel: workerChannel,
      gate: gate.memory,
      parties: options.threads,
    };
    workers.push(
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: data });
        let done = false;
        worker.on("message", (message: RaceWorkerMessage) => {
          if (message.kind === "reports") {
            // Arrival order across connections is whatever the threads and the event loop make it.
            decodeReports(message.records, 0, events);
            return;
          }
          done = true;
          counts.allocations += message.counts.allocations;
          counts.frees += message.counts.frees;
          counts.foreignFrees += message.counts.foreignFrees;
          counts.views += message.counts.views;
          counts.lockSteps += message.counts.lockSteps;
          counts.lockWaits += message.counts.lockWaits;
          elapsedMs = Math.max(elapsedMs, message.elapsedMs);
        });
        worker.on("error", reject);
        worker.on("exit", (code) => {
          if (done && code === 0) resolve();
          else reject(new Error(`race worker ${w} exited with code ${code} before finishing`));
        });
      }),
    );
  }

  const all = Promise.all(workers);
  if (queues.length > 0) await drainQueues(queues, all, events);
  else await all;
  let droppedReports = 0;
  if (fifo !== undefined) {
    decodeReports(fifo.read(0, fifo.count()), 0, events);
    droppedReports += fifo.dropped();
  }
  for (const queue of queues) droppedReports += queue.dropped();
  const snapshots = new Map<number, AllocatorSnapshot>();
  for (const d of devices) snapshots.set(d.id, d.allocator.snapshot());
  return { events, snapshots, counts, elapsedMs, droppedReports };
}

/**
 * The async-queue's drainer: while the workers run, take up to a batch from each queue in turn, in
 * whatever state the queues are when it gets to them; then take what is left.
 */
async function drainQueues(
  queues: readonly SharedReportLog[],
  workers: Promise<unknown>,
  events: ReplayEvent[],
): Promise<void> {
  let finished = false;
  let failure: unknown;
  workers.then(
    () => {
      finished = true;
    },
    (error: unknown) => {
      finished = true;
      failure = error;
    },
  );
  const read = new Array<number>(queues.length).fill(0);
  for (;;) {
    const last = finished;
    let moved = false;
    for (const [i, queue] of queues.entries()) {
      const available = queue.count();
      const to = last ? available : Math.min(available, read[i]! + DRAIN_BATCH);
      if (to > read[i]!) {
        decodeReports(queue.read(read[i]!, to), 0, events);
        read[i] = to;
        moved = true;
      }
    }
    if (last) break;
    // Let worker messages (done, exit) through; poll again at once when something moved.
    await new Promise<void>((resolve) => (moved ? setImmediate(resolve) : setTimeout(resolve, 1)));
  }
  if (failure !== undefined) throw failure;
}
