/**
 * The concurrent workload one worker thread runs against devices shared with the other workers, with one
 * strategy's steps (strategy.ts) run for real: its lock is an Atomics mutex in shared memory, its window a
 * spin loop, its reports go onto the condition's channel. Every run makes the same random choices from the
 * same seed whatever the strategy, and with tracking off it does the same work without locks or reports.
 *
 * The window is the time real runtimes spend between choosing an address and reporting it (logging, Python,
 * a busy channel). It widens the race so a 2-core machine shows it as a 64-core one would.
 */
import { AtomicsMutex, type CriticalSection } from "../device/allocator/lock.js";
import type { Device } from "../device/device.js";
import type { BufferTransfer } from "../device/device-buffer.js";
import type { MemoryType } from "../device/memory-type.js";
import type { RaceCondition } from "./condition.js";
import type { HandoffStack } from "./handoff.js";
import { applyStep, type HeldBuffer, type LifecycleContext, newBuffer, type Phase } from "./lifecycle.js";
import { SeededRandom } from "./random.js";
import { STRATEGIES, type Step, type StrategyName, untracked } from "./strategy.js";

export interface WorkloadParams {
  strategy: StrategyName;
  /** false: the same work with no lock and no report (the throughput baseline). */
  tracking: boolean;
  condition: RaceCondition;
  /** This worker's index (0-based): handed-over buffers are freed by other workers. */
  workerIndex: number;
  /** Allocator changes (allocations + frees) this worker performs. */
  operations: number;
  seed: number;
  memoryType: MemoryType;
  pageSizeBytes: number;
  /** Largest buffer, in pages (sizes are 1..maxPages pages). */
  maxPages: number;
  /** Buffers a worker keeps before it must free one. */
  maxLive: number;
  /** Under cross-thread frees: share of new buffers handed to another thread (0..1). */
  handoffShare: number;
  /** Under cross-thread frees: share of frees that take a handed-over buffer (0..1). */
  foreignFreeShare: number;
  /** Under shared addresses: share of kept buffers that get a view (0..1). */
  viewShare: number;
  /** Largest window between a change and its report, in spin-loop iterations. */
  maxDelaySpins: number;
}

export interface WorkloadCounts {
  allocations: number;
  frees: number;
  /** Frees of buffers another worker allocated. */
  foreignFrees: number;
  /** Views made (second buffers at a live address). */
  views: number;
  /** "lock" steps, and how many of them found the strategy's lock held by another thread (had to wait). */
  lockSteps: number;
  lockWaits: number;
}

/** Counts before the first operation. */
export function zeroWorkloadCounts(): WorkloadCounts {
  return { allocations: 0, frees: 0, foreignFrees: 0, views: 0, lockSteps: 0, lockWaits: 0 };
}

/** Where a worker's reports go: one of the condition's channels. */
export type ReportSink = LifecycleContext["send"];

let spinSink = 0;
/** Deterministic busy work (no timers: the window must not depend on the event loop). */
function spin(iterations: number): void {
  let x = spinSink | 1;
  for (let i = 0; i < iterations; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  spinSink = x;
}

/**
 * The strategy's locks over one shared Int32Array: word 0 the global mutex, word 1 + d device d's. The
 * array must have 1 + devices words.
 */
export function strategyLocks(words: Int32Array): { global: CriticalSection; device: CriticalSection[] } {
  const device: CriticalSection[] = [];
  for (let i = 1; i < words.length; i++) device.push(new AtomicsMutex(words, i));
  return { global: new AtomicsMutex(words, 0), device };
}

interface Kept {
  buffer: HeldBuffer;
  view: boolean;
}

export function runWorkload(
  devices: readonly Device[],
  lockWords: Int32Array,
  sink: ReportSink,
  handoff: HandoffStack,
  params: WorkloadParams,
): WorkloadCounts {
  const strategy = STRATEGIES[params.strategy];
  const steps = (s: readonly Step[]): readonly Step[] => (params.tracking ? s : untracked(s));
  const allocateSteps = steps(strategy.allocate);
  const freeSteps = steps(strategy.free);
  const viewCreateSteps = steps(strategy.viewCreate);
  const viewDropSteps = steps(strategy.viewDrop);
  const locks = strategyLocks(lockWords);
  const lockOf = (deviceId: number): CriticalSection =>
    strategy.lock === "global" ? locks.global : locks.device[deviceId]!;
  // The word each lock lives in: a non-zero word before entering means another thread holds it.
  const lockWordOf = (deviceId: number): number => (strategy.lock === "global" ? 0 : 1 + deviceId);
  const crossThread = params.condition.crossThreadFrees;
  const rng = new SeededRandom(params.seed);
  const counts = zeroWorkloadCounts();
  let delaySpins = 0;

  const ctx: LifecycleContext = {
    allocatorOf: (deviceId) => devices[deviceId]!.allocator,
    send: sink,
    publish: (b) => handoff.offer(transferOf(b), params.workerIndex),
  };
  const run = (list: readonly Step[], phase: Phase, b: HeldBuffer): void => {
    for (const step of list) {
      if (step === "lock") {
        counts.lockSteps++;
        if (Atomics.load(lockWords, lockWordOf(b.deviceId)) !== 0) counts.lockWaits++;
        lockOf(b.deviceId).enter();
      } else if (step === "unlock") lockOf(b.deviceId).leave();
      else if (step === "window") spin(delaySpins);
      else applyStep(step, phase, b, strategy, ctx);
    }
  };

  const live: Kept[] = [];
  for (let op = 0; op < params.operations; op++) {
    // Every choice is drawn whatever the condition, so all runs of one seed make the same ones.
    delaySpins = rng.int(params.maxDelaySpins + 1);
    const wantsFree = live.length >= params.maxLive || rng.next() < 0.5;
    const foreign = rng.next() < params.foreignFreeShare;
    const pick = rng.next();
    const pages = 1 + rng.int(params.maxPages);
    const handOff = rng.next() < params.handoffShare;
    const view = rng.next() < params.viewShare;
    const deviceId = rng.int(devices.length);

    if (wantsFree) {
      const taken = crossThread && foreign ? handoff.take(params.workerIndex) : undefined;
      if (taken !== undefined) {
        run(freeSteps, "free", heldOf(taken));
        counts.foreignFrees++;
        counts.frees++;
        continue;
      }
      if (live.length > 0) {
        const index = Math.floor(pick * live.length);
        const kept = live[index]!;
        live[index] = live[live.length - 1]!;
        live.pop();
        run(freeSteps, "free", kept.buffer);
        // The view is dropped after its owner released the memory (it outlives it by a moment).
        if (kept.view) run(viewDropSteps, "view-drop", kept.buffer);
        counts.frees++;
        continue;
      }
    }
    const b = newBuffer(
      deviceId,
      params.memoryType,
      pages * params.pageSizeBytes,
      params.pageSizeBytes,
      crossThread && handOff,
    );
    run(allocateSteps, "allocate", b);
    counts.allocations++;
    if (b.handedOver) continue;
    const withView = params.condition.sharedAddress && view;
    if (withView) {
      run(viewCreateSteps, "view-create", b);
      counts.views++;
    }
    live.push({ buffer: b, view: withView });
  }
  return counts;
}

function transferOf(b: HeldBuffer): BufferTransfer {
  return {
    deviceId: b.deviceId,
    memoryType: b.memoryType,
    sizeBytes: b.sizeBytes,
    pageSizeBytes: b.pageSizeBytes,
    address: b.address,
    allocationId: b.allocationId,
    sizePerBankBytes: b.sizePerBankBytes,
    subDeviceManagerId: undefined,
  };
}

function heldOf(t: BufferTransfer): HeldBuffer {
  const b = newBuffer(t.deviceId, t.memoryType, t.sizeBytes, t.pageSizeBytes, false);
  b.address = t.address;
  b.allocationId = t.allocationId;
  b.sizePerBankBytes = t.sizePerBankBytes;
  return b;
}
