// DeviceBuffer follows tt-metal's lifecycle and reports each real allocator change with the allocator's seq.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type AllocationChange, ChangeOp } from "../../src/device/change.js";
import { Device } from "../../src/device/device.js";
import { BufferStatus, DeviceBuffer } from "../../src/device/device-buffer.js";
import { GraphTracker } from "../../src/device/graph-tracker.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { TINY } from "../../src/device/presets.js";

function setup() {
  let now = 1000;
  const device = Device.create(TINY, { id: 3, clock: () => now++ });
  const tracker = new GraphTracker();
  const changes: AllocationChange[] = [];
  tracker.addProcessor({ process: (c) => void changes.push(c) });
  return { device, tracker, changes };
}

test("create allocates, reports ALLOC with the allocator's seq and id; deallocate reports FREE with the release's seq", () => {
  const { device, tracker, changes } = setup();
  const buffer = DeviceBuffer.create(
    device,
    { memoryType: MemoryType.DRAM, sizeBytes: 4096, pageSizeBytes: 1024 },
    { tracker },
  );
  assert.equal(buffer.status, BufferStatus.ALLOCATED);
  assert.equal(buffer.isAllocated(), true);
  const live = device.allocator.snapshot();
  assert.equal(live.allocations.length, 1);
  assert.equal(live.allocations[0]!.allocationId, buffer.allocationId);
  assert.equal(live.allocations[0]!.address, buffer.address);
  assert.deepEqual(changes, [
    {
      op: ChangeOp.ALLOC,
      deviceId: 3,
      memoryType: MemoryType.DRAM,
      seq: live.seq,
      allocationId: buffer.allocationId,
      address: buffer.address,
      sizeBytes: 4096,
      timestampNs: 1000,
    },
  ]);

  // Another thread's change in between (directly on the allocator) takes a number of its own.
  const other = device.allocator.allocate({ memoryType: MemoryType.DRAM, sizeBytes: 64, pageSizeBytes: 64 });
  tracker.observeDevice(3, { kind: "dense", nextSeq: other.seq + 1 });
  buffer.deallocate();
  assert.equal(buffer.status, BufferStatus.DEALLOCATED);
  assert.equal(changes.length, 2);
  const free = changes[1]!;
  assert.equal(free.op, ChangeOp.FREE);
  assert.equal(free.seq, other.seq + 1, "the FREE's number is the one the release took");
  assert.equal(free.allocationId, buffer.allocationId);
  assert.equal(free.address, buffer.address);
  assert.equal(free.sizeBytes, 4096);
  assert.equal(device.allocator.lastSeq, free.seq);
  assert.deepEqual(
    device.allocator.snapshot().allocations.map((a) => a.allocationId),
    [other.allocationId],
  );
});

test("double deallocate is a no-op: nothing released or reported twice", () => {
  const { device, tracker, changes } = setup();
  const buffer = DeviceBuffer.create(
    device,
    { memoryType: MemoryType.L1, sizeBytes: 256, pageSizeBytes: 64 },
    { tracker },
  );
  buffer.deallocate();
  const seq = device.allocator.lastSeq;
  buffer.deallocate();
  assert.equal(device.allocator.lastSeq, seq);
  assert.equal(changes.length, 2);
  assert.equal(buffer.status, BufferStatus.DEALLOCATED);
});

test("a zero-size buffer is allocated without the allocator and never reported", () => {
  const { device, tracker, changes } = setup();
  const buffer = DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 0 }, { tracker });
  assert.equal(buffer.status, BufferStatus.ALLOCATED);
  assert.equal(buffer.address, 0);
  assert.equal(buffer.allocationId, undefined);
  buffer.deallocate();
  assert.equal(buffer.status, BufferStatus.DEALLOCATED);
  assert.equal(device.allocator.lastSeq, 0);
  assert.deepEqual(changes, []);
});

test("a pre-allocated non-owning buffer is never reported; deallocate is a no-op, markAsDeallocated a state change", () => {
  const { device, tracker, changes } = setup();
  const owner = DeviceBuffer.create(
    device,
    { memoryType: MemoryType.DRAM, sizeBytes: 2048, pageSizeBytes: 1024 },
    { tracker },
  );
  const view = DeviceBuffer.atAddress(
    device,
    owner.address,
    { memoryType: MemoryType.DRAM, sizeBytes: 1024, pageSizeBytes: 1024 },
    { tracker },
  );
  assert.equal(view.ownsData, false);
  assert.equal(view.status, BufferStatus.ALLOCATED);
  assert.equal(view.address, owner.address);
  view.deallocate();
  assert.equal(view.status, BufferStatus.ALLOCATED, "deallocate of a non-owning buffer does nothing");
  view.markAsDeallocated();
  assert.equal(view.status, BufferStatus.DEALLOCATED);
  assert.equal(changes.length, 1, "only the owner's ALLOC");
  assert.equal(device.allocator.snapshot().allocations.length, 1, "the owner's memory is untouched");
  owner.deallocate();
  assert.equal(changes.length, 2);
});

test("markAsDeallocated on an owning buffer changes state only (memory released elsewhere)", () => {
  const { device, tracker, changes } = setup();
  const buffer = DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 64 }, { tracker });
  buffer.markAsDeallocated();
  buffer.deallocate();
  assert.equal(buffer.status, BufferStatus.DEALLOCATED);
  assert.equal(changes.length, 1);
  assert.equal(device.allocator.snapshot().allocations.length, 1);
});

test("a transferred buffer is freed by its adopter; the original becomes a non-owning view", () => {
  const { device, tracker, changes } = setup();
  const buffer = DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 128 }, { tracker });
  const transfer = buffer.transfer();
  const adopted = DeviceBuffer.adopt(device, structuredClone(transfer), { tracker });
  buffer.deallocate();
  assert.equal(device.allocator.snapshot().allocations.length, 1, "the original no longer owns the memory");
  adopted.deallocate();
  assert.equal(device.allocator.snapshot().allocations.length, 0);
  assert.deepEqual(
    changes.map((c) => [c.op, c.allocationId]),
    [
      [ChangeOp.ALLOC, transfer.allocationId],
      [ChangeOp.FREE, transfer.allocationId],
    ],
  );
});

test("the default tracker is used when none is injected, starting after the allocator's current number", () => {
  const device = Device.create(TINY, { id: 41 });
  device.allocator.allocate({ memoryType: MemoryType.DRAM, sizeBytes: 64, pageSizeBytes: 64 });
  const buffer = DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 64 });
  assert.equal(buffer.isAllocated(), true);
  buffer.deallocate();
  assert.equal(device.allocator.lastSeq, 3);
});

test("the lifecycle lock is taken before the address is chosen and released after the change is reported", () => {
  const device = Device.create(TINY, { id: 8 });
  const log: string[] = [];
  let held = false;
  const tracker = new GraphTracker({
    lifecycleLock: () => ({
      enter() {
        held = true;
        log.push(`acquire at seq ${device.allocator.lastSeq}`);
      },
      leave() {
        held = false;
        log.push(`release at seq ${device.allocator.lastSeq}`);
      },
    }),
  });
  tracker.addProcessor({ process: (c) => void log.push(`report seq ${c.seq}${held ? " (locked)" : ""}`) });
  const buffer = DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 64 }, { tracker });
  buffer.deallocate();
  assert.deepEqual(log, [
    "acquire at seq 0",
    "report seq 1 (locked)",
    "release at seq 1",
    "acquire at seq 1",
    "report seq 2 (locked)",
    "release at seq 2",
  ]);
});

test("a FREE reaches a tracker that never saw the device allocate (adopted buffer), local or shared device", () => {
  for (const shared of [false, true]) {
    const device = Device.create(TINY, { id: 9, shared });
    const first = new GraphTracker();
    const a = DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 64 }, { tracker: first });
    DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 64 }, { tracker: first });
    const second = new GraphTracker();
    const got: AllocationChange[] = [];
    second.addProcessor({ process: (c) => void got.push(c) });
    DeviceBuffer.adopt(device, a.transfer(), { tracker: second }).deallocate();
    assert.deepEqual(
      got.map((c) => [c.op, c.seq]),
      [[ChangeOp.FREE, 3]],
      `shared=${shared}: delivered at once, not held waiting for numbers 1 and 2`,
    );
  }
});
