// A processor with processFields gets exactly what a process() processor gets, in the same order, on the
// object-free path (in-order changes) and on the general path (held, late, sparse, mixed processors).
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type AllocationChange, type AllocationProcessor, ChangeOp } from "../../src/device/change.js";
import { Device } from "../../src/device/device.js";
import { DeviceBuffer } from "../../src/device/device-buffer.js";
import { GraphTracker } from "../../src/device/graph-tracker.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { TINY } from "../../src/device/presets.js";

/** Records through processFields; process() must never be called while processFields exists. */
class FieldsRecorder implements AllocationProcessor {
  readonly seen: AllocationChange[] = [];
  process(): void {
    throw new Error("process() called on a processor that takes fields");
  }
  processFields(
    op: ChangeOp,
    deviceId: number,
    memoryType: MemoryType,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    timestampNs: number,
  ): void {
    this.seen.push({ op, deviceId, memoryType, seq, allocationId, address, sizeBytes, timestampNs });
  }
}

class ObjectRecorder implements AllocationProcessor {
  readonly seen: AllocationChange[] = [];
  process(change: AllocationChange): void {
    this.seen.push({ ...change });
  }
}

function fields(seq: number, deviceId = 0): Parameters<GraphTracker["trackFields"]> {
  return [
    seq % 2 === 1 ? ChangeOp.ALLOC : ChangeOp.FREE,
    deviceId,
    MemoryType.DRAM,
    seq,
    Math.ceil(seq / 2),
    0x100 * seq,
    64,
    1000 + seq,
  ];
}

test("field and object processors see the same changes in the same order, whatever the arrival order", () => {
  fc.assert(
    fc.property(
      fc.shuffledSubarray([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { minLength: 10, maxLength: 10 }),
      fc.boolean(),
      (arrival, mixed) => {
        const tracker = new GraphTracker({ maxHeldPerDevice: 4 });
        const byFields = new FieldsRecorder();
        const byObject = new ObjectRecorder();
        tracker.addProcessor(byFields);
        if (mixed) tracker.addProcessor(byObject);
        const reference = new GraphTracker({ maxHeldPerDevice: 4 });
        const expected = new ObjectRecorder();
        reference.addProcessor(expected);
        for (const seq of arrival) {
          tracker.trackFields(...fields(seq));
          const [op, deviceId, memoryType, s, allocationId, address, sizeBytes, timestampNs] = fields(seq);
          reference.track({
            op,
            deviceId,
            memoryType,
            seq: s,
            allocationId,
            address,
            sizeBytes,
            timestampNs,
          });
        }
        tracker.flush(0);
        reference.flush(0);
        assert.deepEqual(byFields.seen, expected.seen);
        if (mixed) assert.deepEqual(byObject.seen, expected.seen);
        assert.deepEqual(tracker.counters, reference.counters);
      },
    ),
    { numRuns: 300 },
  );
});

test("a processFields that throws is counted and never reaches the workload", () => {
  const tracker = new GraphTracker();
  const after = new FieldsRecorder();
  tracker.addProcessor({
    process() {},
    processFields() {
      throw new Error("boom");
    },
  });
  tracker.addProcessor(after);
  for (let seq = 1; seq <= 3; seq++) assert.doesNotThrow(() => tracker.trackFields(...fields(seq)));
  assert.equal(tracker.counters.processorErrors, 3);
  assert.deepEqual(
    after.seen.map((c) => c.seq),
    [1, 2, 3],
    "the next processor still gets every change",
  );
});

test("a sparse device's changes reach a field processor at once, late ones counted", () => {
  const tracker = new GraphTracker();
  const recorder = new FieldsRecorder();
  tracker.addProcessor(recorder);
  tracker.observeDevice(3, { kind: "sparse" });
  for (const seq of [4, 9, 7, 12]) tracker.trackFields(...fields(seq, 3));
  assert.deepEqual(
    recorder.seen.map((c) => c.seq),
    [4, 9, 7, 12],
  );
  assert.equal(tracker.counters.lateChanges, 1);
  assert.equal(tracker.counters.held, 0);
});

test("Buffers report through the field path with the allocator's seq, id, address, size and clock", () => {
  let now = 500;
  const device = Device.create(TINY, { id: 2, clock: () => now++ });
  const tracker = new GraphTracker();
  const byFields = new FieldsRecorder();
  const byObject = new ObjectRecorder();
  tracker.addProcessor(byFields);
  const buffers = [1, 2, 3].map((pages) =>
    DeviceBuffer.create(
      device,
      { memoryType: MemoryType.DRAM, sizeBytes: pages * 64, pageSizeBytes: 64 },
      { tracker },
    ),
  );
  tracker.addProcessor(byObject);
  for (const buffer of buffers) buffer.deallocate();
  assert.deepEqual(
    byFields.seen.map((c) => [c.op, c.deviceId, c.seq]),
    [
      [1, 2, 1],
      [1, 2, 2],
      [1, 2, 3],
      [2, 2, 4],
      [2, 2, 5],
      [2, 2, 6],
    ],
  );
  assert.deepEqual(byFields.seen.slice(3), byObject.seen, "mixed processors get identical changes");
  for (let i = 0; i < 3; i++) {
    const alloc = byFields.seen[i]!;
    const free = byFields.seen[i + 3]!;
    assert.equal(alloc.allocationId, free.allocationId);
    assert.equal(alloc.address, free.address);
    assert.equal(alloc.sizeBytes, (i + 1) * 64);
    assert.equal(alloc.timestampNs, 500 + i);
  }
});
