// Processors receive each device's changes in sequence order: also when they are asynchronous, when a
// processor throws, and when changes are tracked out of order.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AtomicsMutex } from "../../src/device/allocator/lock.js";
import { type AllocationChange, ChangeOp } from "../../src/device/change.js";
import { Device } from "../../src/device/device.js";
import { DeviceBuffer } from "../../src/device/device-buffer.js";
import { GraphTracker } from "../../src/device/graph-tracker.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { TINY } from "../../src/device/presets.js";
import { eventLoopTurns } from "../support/wait-for.js";

function change(deviceId: number, seq: number): AllocationChange {
  return {
    op: seq % 2 === 1 ? ChangeOp.ALLOC : ChangeOp.FREE,
    deviceId,
    memoryType: MemoryType.DRAM,
    seq,
    allocationId: Math.ceil(seq / 2),
    address: 0x1000,
    sizeBytes: 64,
    timestampNs: seq,
  };
}

const seqs = (list: AllocationChange[], deviceId?: number) =>
  list.filter((c) => deviceId === undefined || c.deviceId === deviceId).map((c) => c.seq);

test("an asynchronous processor gets its next change only after the previous one settled", async () => {
  const tracker = new GraphTracker();
  const started: number[] = [];
  const finished: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  tracker.addProcessor({
    async process(c) {
      started.push(c.seq);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // Later changes finish faster: without the per-processor queue they would overtake. (Event-loop
      // turns, not milliseconds: the order under test does not depend on the machine's speed.)
      await eventLoopTurns(c.seq % 3 === 0 ? 5 : 0);
      finished.push(c.seq);
      inFlight--;
    },
  });
  const sync: AllocationChange[] = [];
  tracker.addProcessor({ process: (c) => void sync.push(c) });
  for (let seq = 1; seq <= 12; seq++) tracker.track(change(0, seq));
  assert.deepEqual(
    seqs(sync),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    "a slow processor holds back only itself",
  );
  assert.deepEqual(started, [1], "the async processor has one change in flight");
  await tracker.whenIdle();
  assert.deepEqual(finished, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.equal(maxInFlight, 1);
});

test("a throwing or rejecting processor never throws into the workload and is counted", async () => {
  const tracker = new GraphTracker();
  const after: number[] = [];
  tracker.addProcessor({
    process(c) {
      if (c.seq === 2) throw new Error("boom");
    },
  });
  tracker.addProcessor({
    async process(c) {
      if (c.seq === 3) throw new Error("async boom");
      after.push(c.seq);
    },
  });
  for (let seq = 1; seq <= 4; seq++) assert.doesNotThrow(() => tracker.track(change(0, seq)));
  await tracker.whenIdle();
  assert.deepEqual(after, [1, 2, 4], "the rejecting processor still gets later changes");
  assert.equal(tracker.counters.processorErrors, 2);
});

test("changes tracked out of order wait in a per-device reorder stage until the missing number arrives", () => {
  const tracker = new GraphTracker();
  const got: AllocationChange[] = [];
  tracker.addProcessor({ process: (c) => void got.push(c) });
  for (const [device, seq] of [
    [0, 2],
    [1, 1],
    [0, 3],
    [1, 3],
    [0, 1],
    [1, 2],
    [0, 4],
  ] as const) {
    tracker.track(change(device, seq));
    if (device === 0 && seq === 3) {
      assert.deepEqual(seqs(got, 0), [], "device 0 waits for 1");
      assert.deepEqual(seqs(got, 1), [1], "device 1 is not held back by device 0");
      assert.equal(tracker.heldCount(0), 2);
    }
  }
  assert.deepEqual(seqs(got, 0), [1, 2, 3, 4]);
  assert.deepEqual(seqs(got, 1), [1, 2, 3]);
  assert.equal(tracker.counters.held, 0);
});

test("asynchronous processors also receive reordered changes in sequence order", async () => {
  const tracker = new GraphTracker();
  const got: number[] = [];
  tracker.addProcessor({
    async process(c) {
      await eventLoopTurns(1);
      got.push(c.seq);
    },
  });
  for (const seq of [3, 5, 1, 2, 4, 6]) tracker.track(change(7, seq));
  await tracker.whenIdle();
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6]);
});

test("the reorder stage is bounded: when full, the oldest gap is given up and counted", () => {
  const tracker = new GraphTracker({ maxHeldPerDevice: 3 });
  const got: AllocationChange[] = [];
  tracker.addProcessor({ process: (c) => void got.push(c) });
  for (const seq of [3, 4, 5]) tracker.track(change(0, seq));
  assert.deepEqual(seqs(got), []);
  tracker.track(change(0, 7)); // a fourth held change: give up on 1..2
  assert.deepEqual(seqs(got), [3, 4, 5]);
  assert.equal(tracker.counters.gapsSkipped, 1);
  tracker.track(change(0, 1)); // late: delivered anyway, counted
  assert.equal(tracker.counters.lateChanges, 1);
  tracker.flush(0);
  assert.deepEqual(seqs(got), [3, 4, 5, 1, 7]);
  assert.equal(tracker.heldCount(0), 0);
});

test("a sparse device (shared with other threads) is never held; dense devices start where told", () => {
  const tracker = new GraphTracker();
  const got: AllocationChange[] = [];
  tracker.addProcessor({ process: (c) => void got.push(c) });
  tracker.observeDevice(0, { kind: "sparse" });
  tracker.observeDevice(1, { kind: "dense", nextSeq: 10 });
  for (const seq of [4, 9, 12]) tracker.track(change(0, seq));
  tracker.track(change(1, 11));
  tracker.track(change(1, 10));
  assert.deepEqual(seqs(got, 0), [4, 9, 12]);
  assert.deepEqual(seqs(got, 1), [10, 11]);
});

test("an asynchronous processor's queue is bounded: overflow is dropped and counted", async () => {
  const tracker = new GraphTracker({ maxQueuedPerProcessor: 2 });
  const got: number[] = [];
  tracker.addProcessor({
    async process(c) {
      await eventLoopTurns(1);
      got.push(c.seq);
    },
  });
  for (let seq = 1; seq <= 5; seq++) tracker.track(change(0, seq));
  await tracker.whenIdle();
  assert.deepEqual(got, [1, 2, 3]);
  assert.equal(tracker.counters.processorDrops, 2);
});

test("invalid tracker options are refused with a message that says the fix", () => {
  assert.throws(() => new GraphTracker({ maxHeldPerDevice: 0 }), {
    code: "DEVICE_INVALID_OPTIONS",
    message: "GraphTracker option maxHeldPerDevice must be a positive integer, got 0",
  });
});

test("the lifecycle lock spans the whole step and is released when the step throws", () => {
  const events: string[] = [];
  const tracker = new GraphTracker({
    lifecycleLock: (deviceId) => ({
      enter: () => events.push(`acquire ${deviceId}`),
      leave: () => events.push(`release ${deviceId}`),
    }),
  });
  tracker.withLifecycleLock(2, () => events.push("step"));
  assert.throws(() =>
    tracker.withLifecycleLock(2, () => {
      throw new Error("allocator refused");
    }),
  );
  assert.deepEqual(events, ["acquire 2", "step", "release 2", "acquire 2", "release 2"]);
});

test("a shared-memory mutex plugs in as the lifecycle lock (for devices shared by worker threads)", () => {
  const word = new Int32Array(new SharedArrayBuffer(4));
  let lockedDuringReport = false;
  const tracker = new GraphTracker({ lifecycleLock: () => new AtomicsMutex(word, 0) });
  tracker.addProcessor({
    process() {
      lockedDuringReport = Atomics.load(word, 0) !== 0;
    },
  });
  const device = Device.create(TINY, { id: 4, shared: true });
  DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 64 }, { tracker }).deallocate();
  assert.equal(lockedDuringReport, true);
  assert.equal(Atomics.load(word, 0), 0, "released after the step");
});
