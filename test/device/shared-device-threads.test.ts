import assert from "node:assert/strict";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import { Device } from "../../src/device/device.js";
import { TINY } from "../../src/device/presets.js";
import { checkAllocatorState } from "./allocator-checks.js";
import { type FromWorker, LOG_FIELDS, type ToWorker, type WorkerInput } from "./shared-device-worker.js";

const WORKERS = 4;
const OPERATIONS = 4000;

interface Change {
  op: number;
  seq: number;
  allocationId: number;
  memoryType: number;
  address: number;
  sizeBytes: number;
  thread: number;
}

async function runWorkers(
  device: Device,
  seed: number,
): Promise<{ changes: Change[]; crossThreadFrees: number }> {
  const handle = device.share();
  const workers = Array.from({ length: WORKERS }, (_, workerIndex) => {
    const workerData: WorkerInput = {
      handle,
      workerIndex,
      operations: OPERATIONS,
      seed: seed + workerIndex * 7919,
      handoffRate: 0.2,
    };
    return new Worker(new URL("./shared-device-worker.js", import.meta.url), { workerData });
  });
  const changes: Change[] = [];
  let crossThreadFrees = 0;
  let opsDone = 0;
  const logs = workers.map(
    (worker, index) =>
      new Promise<void>((resolve, reject) => {
        worker.on("error", reject);
        worker.on("message", (message: FromWorker) => {
          if (message.kind === "handoff") {
            // Pass it on to the next worker: the block is freed by a thread that did not allocate it.
            const forward: ToWorker = {
              kind: "free",
              memoryType: message.memoryType,
              address: message.address,
              allocationId: message.allocationId,
            };
            workers[(message.from + 1) % WORKERS]!.postMessage(forward);
            crossThreadFrees++;
          } else if (message.kind === "ops-done") {
            // Every handoff a worker sent precedes its ops-done, so once all are done all frees are queued
            // ahead of the finish messages.
            if (++opsDone === WORKERS)
              for (const w of workers) w.postMessage({ kind: "finish" } satisfies ToWorker);
          } else {
            assert.equal(message.mismatches, 0, "a handed-over free released another allocation");
            const c = message.changes;
            for (let i = 0; i < c.length; i += LOG_FIELDS) {
              changes.push({
                op: c[i]!,
                seq: c[i + 1]!,
                allocationId: c[i + 2]!,
                memoryType: c[i + 3]!,
                address: c[i + 4]!,
                sizeBytes: c[i + 5]!,
                thread: index,
              });
            }
            resolve();
          }
        });
      }),
  );
  await Promise.all(logs);
  await Promise.all(workers.map((w) => w.terminate()));
  return { changes, crossThreadFrees };
}

test("4 worker threads on one shared device: unique gap-free seqs, exact replay, consistent state", async () => {
  const device = Device.create(TINY, { id: 11, shared: true, maxBlocksPerRegion: 1024 });
  const { changes, crossThreadFrees } = await runWorkers(device, 20240601);
  const { allocator, layout } = device;

  assert.ok(crossThreadFrees > 100, `expected many cross-thread frees, got ${crossThreadFrees}`);
  assert.equal(changes.length, allocator.lastSeq);
  changes.sort((a, b) => a.seq - b.seq);
  changes.forEach((change, i) => {
    assert.equal(change.seq, i + 1, "seqs are unique and gap-free");
  });

  // Replay in seq order: every free names a live allocation at its address, no two live allocations share
  // an address in one region, and ids are never reused.
  const live = new Map<number, Change>();
  const byAddress = new Map<string, number>();
  const seenIds = new Set<number>();
  const freedByOtherThread = { count: 0 };
  const allocatedOn = new Map<number, number>();
  for (const c of changes) {
    const key = `${layout.regionOfType[c.memoryType]}:${c.address}`;
    if (c.op === 1) {
      assert.ok(!seenIds.has(c.allocationId), `allocation id ${c.allocationId} reused`);
      assert.ok(!byAddress.has(key), `seq ${c.seq}: address ${key} is still live`);
      seenIds.add(c.allocationId);
      live.set(c.allocationId, c);
      byAddress.set(key, c.allocationId);
      allocatedOn.set(c.allocationId, c.thread);
    } else {
      const allocation = live.get(c.allocationId);
      assert.ok(allocation, `seq ${c.seq}: free of unknown allocation ${c.allocationId}`);
      assert.equal(allocation.address, c.address);
      assert.equal(allocation.memoryType, c.memoryType);
      assert.equal(allocation.sizeBytes, c.sizeBytes);
      live.delete(c.allocationId);
      byAddress.delete(key);
      if (allocatedOn.get(c.allocationId) !== c.thread) freedByOtherThread.count++;
    }
  }
  assert.equal(freedByOtherThread.count, crossThreadFrees);

  const snapshot = allocator.snapshot();
  assert.equal(snapshot.seq, changes.length);
  const key = (x: { allocationId: number; memoryType: number; address: number; sizeBytes: number }) =>
    `${x.allocationId}/${x.memoryType}/${x.address}/${x.sizeBytes}`;
  assert.deepEqual(snapshot.allocations.map(key).sort(), [...live.values()].map(key).sort());
  checkAllocatorState(allocator);

  // The main thread keeps using the same state: ids continue where the workers stopped.
  const next = allocator.allocate({ memoryType: 0, sizeBytes: 64, pageSizeBytes: 64 });
  assert.equal(next.seq, changes.length + 1);
  assert.ok(next.allocationId > Math.max(...seenIds));
});
