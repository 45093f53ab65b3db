/**
 * A strategy run as asynchronous tasks under a scheduler that decides, at every step, which task goes next
 * and when each channel delivers: the schedule is the scheduler's choice, so a test (fast-check's
 * `fc.scheduler`) or `allocwatch race` (explore.ts, a seeded scheduler) can explore many of them and keep
 * the one that fails. Tasks share two devices and report over the condition's channel; the reports that
 * arrive are then replayed as the strategy's server would (judge.ts).
 */
import type { AllocatorSnapshot } from "../device/allocator/types.js";
import { Device } from "../device/device.js";
import { MemoryType } from "../device/memory-type.js";
import { TINY } from "../device/presets.js";
import type { RaceCondition } from "./condition.js";
import { applyStep, type HeldBuffer, type LifecycleContext, newBuffer, type Phase } from "./lifecycle.js";
import type { SeededRandom } from "./random.js";
import type { ReplayEvent } from "./replay.js";
import type { Step, Strategy } from "./strategy.js";

/** What the model needs of a scheduler: a point where the running task yields until chosen. */
export interface ModelScheduler {
  point(label: string): Promise<void>;
}

/**
 * One task's operations. Without --cross-thread-frees "alloc-handed" is "alloc" and "free-handed" is
 * "free"; without --shared-address no view is made.
 */
export type ModelOp = "alloc" | "alloc-handed" | "free" | "free-handed";
export type ModelProgram = ModelOp[][];

export interface ModelOutcome {
  /** Reports in arrival order at the server. */
  arrived: ReplayEvent[];
  /** The allocator's live set afterwards, per device. */
  snapshots: Map<number, AllocatorSnapshot>;
  /**
   * The strategy's "lock" steps, and how many found the lock held by another task. Every step is an
   * interleaving point, so this is what the lock serialises when tasks really run at once, whatever machine
   * runs the model.
   */
  lockSteps: number;
  lockWaits: number;
}

/** Devices the tasks share; a task's allocations alternate between them. */
export const MODEL_DEVICES = 2;

const PAGE_BYTES = 64;
const MODEL_OPS: readonly ModelOp[] = ["alloc", "alloc-handed", "free", "free-handed"];

/** A random program: 2–3 tasks of 2–6 operations each, each task starting with an allocation. */
export function randomProgram(rng: SeededRandom): ModelProgram {
  const tasks = 2 + rng.int(2);
  const program: ModelProgram = [];
  for (let t = 0; t < tasks; t++) {
    const ops: ModelOp[] = [rng.next() < 0.5 ? "alloc" : "alloc-handed"];
    const n = 1 + rng.int(5);
    for (let i = 0; i < n; i++) ops.push(MODEL_OPS[rng.int(MODEL_OPS.length)]!);
    program.push(ops);
  }
  return program;
}

/** A mutex for tasks: waiters are served in arrival order. */
class TaskMutex {
  private held = false;
  private readonly waiters: (() => void)[] = [];

  /** Resolves true when the task had to wait for another to leave. */
  async enter(): Promise<boolean> {
    if (!this.held) {
      this.held = true;
      return false;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
    return true;
  }

  leave(): void {
    const next = this.waiters.shift();
    if (next === undefined) this.held = false;
    else next(); // handed over: stays held
  }
}

/** Run `program` with `strategy` under `condition`; every interleaving point is `scheduler`'s. */
export async function runModel(
  strategy: Strategy,
  condition: RaceCondition,
  program: ModelProgram,
  scheduler: ModelScheduler,
): Promise<ModelOutcome> {
  // A small block table: programs hold a few buffers, and devices are made per schedule.
  const devices: Device[] = [];
  for (let id = 0; id < MODEL_DEVICES; id++) {
    devices.push(Device.create(TINY, { id, maxBlocksPerRegion: 64 }));
  }
  const arrived: ReplayEvent[] = [];
  const globalMutex = new TaskMutex();
  const deviceMutexes = devices.map(() => new TaskMutex());
  const mutexOf = (deviceId: number): TaskMutex =>
    strategy.lock === "global" ? globalMutex : deviceMutexes[deviceId]!;
  let lockSteps = 0;
  let lockWaits = 0;
  const pool: HeldBuffer[] = [];
  const channel = modelChannel(condition, program.length, scheduler, arrived);
  let sender = 0;

  const ctx: LifecycleContext = {
    allocatorOf: (deviceId) => devices[deviceId]!.allocator,
    send(op, deviceId, memoryType, seq, allocationId, address, sizeBytes, sizePerBankBytes) {
      channel.send(sender, {
        op,
        deviceId,
        memoryType,
        seq,
        allocationId,
        address,
        sizeBytes,
        sizePerBankBytes,
      });
    },
    publish(b) {
      if (!condition.crossThreadFrees) return false;
      pool.push(b);
      return true;
    },
  };

  const run = async (task: number, steps: readonly Step[], phase: Phase, b: HeldBuffer): Promise<void> => {
    for (const step of steps) {
      await scheduler.point(`t${task} ${phase} ${step}`);
      if (step === "lock") {
        lockSteps++;
        if (await mutexOf(b.deviceId).enter()) lockWaits++;
      } else if (step === "unlock") mutexOf(b.deviceId).leave();
      else if (step !== "window") {
        sender = task;
        applyStep(step, phase, b, strategy, ctx);
      }
    }
  };

  const runTask = async (task: number, ops: ModelOp[]): Promise<void> => {
    const own: { buffer: HeldBuffer; view: boolean }[] = [];
    let allocations = 0;
    for (const op of ops) {
      if (op === "alloc" || op === "alloc-handed") {
        const handOff = op === "alloc-handed" && condition.crossThreadFrees;
        const index = allocations++;
        const pages = 1 + ((task + index) % 3);
        const b = newBuffer(index % MODEL_DEVICES, MemoryType.DRAM, pages * PAGE_BYTES, PAGE_BYTES, handOff);
        await run(task, strategy.allocate, "allocate", b);
        if (b.handedOver) continue;
        // Every other pair of allocations gets a view, so views are made on both devices.
        const view = condition.sharedAddress && (index >> 1) % 2 === 0;
        if (view) await run(task, strategy.viewCreate, "view-create", b);
        own.push({ buffer: b, view });
        continue;
      }
      const handed = op === "free-handed" && condition.crossThreadFrees ? pool.shift() : undefined;
      if (handed !== undefined) {
        await run(task, strategy.free, "free", handed);
        continue;
      }
      const held = own.pop();
      if (held === undefined) continue;
      await run(task, strategy.free, "free", held.buffer);
      // The view is dropped after its owner released the memory (it outlives it by a moment).
      if (held.view) await run(task, strategy.viewDrop, "view-drop", held.buffer);
    }
  };

  await Promise.all(program.map((ops, task) => runTask(task, ops)));
  await channel.drained();
  const snapshots = new Map(devices.map((d) => [d.id, d.allocator.snapshot()] as const));
  return { arrived, snapshots, lockSteps, lockWaits };
}

interface ModelChannel {
  send(task: number, event: ReplayEvent): void;
  /** Resolves once every report sent has arrived. */
  drained(): Promise<void>;
}

function modelChannel(
  condition: RaceCondition,
  tasks: number,
  scheduler: ModelScheduler,
  arrived: ReplayEvent[],
): ModelChannel {
  if (condition.channel === "fifo") {
    return { send: (_task, event) => arrived.push(event), drained: async () => {} };
  }
  if (condition.channel === "per-thread") {
    // Each task's connection delivers in order; when, relative to the others, is the scheduler's choice.
    const connections = new Array<Promise<void>>(tasks).fill(Promise.resolve());
    return {
      send(task, event) {
        connections[task] = connections[task]!.then(async () => {
          await scheduler.point(`deliver t${task}`);
          arrived.push(event);
        });
      },
      drained: async () => {
        await Promise.all(connections);
      },
    };
  }
  // async-queue: one queue per task, drained one report at a time by another task, round robin.
  const queues: ReplayEvent[][] = Array.from({ length: tasks }, () => []);
  let pending = 0;
  let wake: (() => void) | undefined;
  let closed = false;
  let next = 0;
  const drainer = (async () => {
    for (;;) {
      if (pending === 0) {
        if (closed) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      await scheduler.point("drain");
      for (let i = 0; i < tasks; i++) {
        const q = queues[(next + i) % tasks]!;
        if (q.length > 0) {
          arrived.push(q.shift()!);
          pending--;
          next = (next + i + 1) % tasks;
          break;
        }
      }
    }
  })();
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  return {
    send(task, event) {
      queues[task]!.push(event);
      pending++;
      poke();
    },
    drained: async () => {
      closed = true;
      poke();
      await drainer;
    },
  };
}
