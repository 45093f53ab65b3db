import assert from "node:assert/strict";
import { test } from "node:test";
import { ChangeRecord, FitPolicy } from "../../src/device/allocator/types.js";
import { Device } from "../../src/device/device.js";
import { InvalidPageSizeError, OutOfMemoryError, UnknownAllocationError } from "../../src/device/errors.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { TINY } from "../../src/device/presets.js";

const REQUEST = { memoryType: MemoryType.DRAM, sizeBytes: 4096, pageSizeBytes: 1024 };

for (const policy of [FitPolicy.FIRST_FIT, FitPolicy.BEST_FIT]) {
  test(`${policy}: allocateInto / deallocateInto fill the caller's record with what allocate / deallocate return`, () => {
    // Two devices with the same history: one answers with new objects, the other fills one record.
    const objects = Device.create(TINY, { id: 1, policy }).allocator;
    const records = Device.create(TINY, { id: 1, policy }).allocator;
    const record = new ChangeRecord();
    const sizes = [4096, 1024, 8192, 2048, 1024];
    const live: number[] = [];
    for (const sizeBytes of sizes) {
      const request = { ...REQUEST, sizeBytes };
      const expected = objects.allocate(request);
      const filled = records.allocateInto(request, record);
      assert.equal(filled, record, "the record itself is returned");
      assert.deepEqual({ ...record }, { ...expected });
      live.push(expected.address);
    }
    for (const address of [live[1]!, live[3]!, live[0]!]) {
      const expected = objects.deallocate(MemoryType.DRAM, address);
      assert.equal(records.deallocateInto(MemoryType.DRAM, address, record), record);
      assert.deepEqual({ ...record }, { ...expected });
    }
    assert.deepEqual(records.snapshot(), objects.snapshot());
  });
}

test("allocateInto hands its record to inCriticalSection, filled, before it returns", () => {
  const allocator = Device.create(TINY, { id: 2 }).allocator;
  const record = new ChangeRecord();
  let seen: ChangeRecord | undefined;
  let seqInside = 0;
  allocator.allocateInto(REQUEST, record, (change) => {
    seen = change as ChangeRecord;
    seqInside = change.seq;
  });
  assert.equal(seen, record);
  assert.equal(seqInside, 1);
  assert.equal(record.sizeBytes, 4096);
  let freedInside = 0;
  allocator.deallocateInto(MemoryType.DRAM, record.address, record, (change) => {
    freedInside = change.seq;
  });
  assert.equal(freedInside, 2);
  assert.equal(record.seq, 2);
});

test("a failed allocateInto / deallocateInto leaves the record as it was and takes no sequence number", () => {
  const allocator = Device.create(TINY, { id: 3 }).allocator;
  const record = new ChangeRecord();
  allocator.allocateInto(REQUEST, record);
  const before = { ...record };
  assert.throws(
    () => allocator.allocateInto({ ...REQUEST, pageSizeBytes: 1000 }, record),
    InvalidPageSizeError,
  );
  assert.throws(
    () => allocator.allocateInto({ ...REQUEST, sizeBytes: 2 ** 40, pageSizeBytes: 2 ** 20 }, record),
    OutOfMemoryError,
  );
  assert.throws(
    () => allocator.deallocateInto(MemoryType.DRAM, record.address + 32, record),
    UnknownAllocationError,
  );
  assert.deepEqual({ ...record }, before);
  assert.equal(allocator.lastSeq, 1);
});
