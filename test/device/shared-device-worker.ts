/**
 * Worker-thread fixture for shared-device-threads.test.ts: attaches to a shared device, runs a random mix of
 * allocations and frees, hands some allocations to the main thread (which passes them on to another
 * worker to free), frees what it is handed, and finally posts its log of changes.
 * Loaded as a plain module (e.g. by the test runner, which runs every file under test/) it does nothing.
 */
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { Device, type SharedDeviceHandle } from "../../src/device/device.js";
import { DeviceError } from "../../src/device/errors.js";
import { MemoryType } from "../../src/device/memory-type.js";

export interface WorkerInput {
  handle: SharedDeviceHandle;
  workerIndex: number;
  operations: number;
  seed: number;
  /** Probability that an allocation is handed to another thread to free. */
  handoffRate: number;
}

export type ToWorker =
  | { kind: "free"; memoryType: MemoryType; address: number; allocationId: number }
  | { kind: "finish" };

export type FromWorker =
  | { kind: "handoff"; from: number; memoryType: MemoryType; address: number; allocationId: number }
  | { kind: "ops-done" }
  | { kind: "log"; workerIndex: number; changes: Float64Array; outOfMemory: number; mismatches: number };

/** Fields of one change in a log: op (1 alloc, 2 free), seq, allocationId, memoryType, address, sizeBytes. */
export const LOG_FIELDS = 6;

const TYPES = [MemoryType.DRAM, MemoryType.L1, MemoryType.CB, MemoryType.L1_SMALL, MemoryType.TRACE];

async function run(port: MessagePort, input: WorkerInput): Promise<void> {
  const device = Device.attach(input.handle);
  const allocator = device.allocator;
  let x = input.seed | 1;
  const random = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const log: number[] = [];
  const record = (
    op: number,
    c: { seq: number; allocationId: number; memoryType: number; address: number; sizeBytes: number },
  ) => {
    log.push(op, c.seq, c.allocationId, c.memoryType, c.address, c.sizeBytes);
  };
  let outOfMemory = 0;
  let mismatches = 0;
  const own: { memoryType: MemoryType; address: number }[] = [];
  let finished: () => void = () => {};
  const finish = new Promise<void>((resolve) => {
    finished = resolve;
  });
  port.on("message", (message: ToWorker) => {
    if (message.kind === "finish") {
      finished();
      return;
    }
    const freed = allocator.deallocate(message.memoryType, message.address);
    if (freed.allocationId !== message.allocationId) mismatches++;
    record(2, freed);
  });

  for (let i = 0; i < input.operations; i++) {
    // Let handed-over frees in between our own operations.
    if ((i & 31) === 0) await new Promise((resolve) => setImmediate(resolve));
    if (own.length > 0 && (random() < 0.45 || own.length > 64)) {
      const k = Math.floor(random() * own.length);
      const victim = own[k]!;
      own[k] = own[own.length - 1]!;
      own.pop();
      record(2, allocator.deallocate(victim.memoryType, victim.address));
      continue;
    }
    const memoryType = TYPES[Math.floor(random() * TYPES.length)]!;
    const pageSizeBytes = 32 << Math.floor(random() * 4);
    const sizeBytes = pageSizeBytes * (1 + Math.floor(random() * 8));
    try {
      const a = allocator.allocate({ memoryType, sizeBytes, pageSizeBytes });
      record(1, a);
      if (random() < input.handoffRate) {
        const message: FromWorker = {
          kind: "handoff",
          from: input.workerIndex,
          memoryType,
          address: a.address,
          allocationId: a.allocationId,
        };
        port.postMessage(message);
      } else {
        own.push({ memoryType, address: a.address });
      }
    } catch (error) {
      if (!(error instanceof DeviceError && error.code === "DEVICE_OUT_OF_MEMORY")) throw error;
      outOfMemory++;
    }
  }
  port.postMessage({ kind: "ops-done" } satisfies FromWorker);
  await finish;
  const changes = Float64Array.from(log);
  const message: FromWorker = {
    kind: "log",
    workerIndex: input.workerIndex,
    changes,
    outOfMemory,
    mismatches,
  };
  port.postMessage(message, [changes.buffer]);
  port.close();
}

if (parentPort !== null && workerData?.handle !== undefined) {
  await run(parentPort, workerData as WorkerInput);
}
