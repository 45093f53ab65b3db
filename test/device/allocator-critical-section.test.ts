import assert from "node:assert/strict";
import { test } from "node:test";
import type { AllocatorChange } from "../../src/device/allocator/types.js";
import { Device } from "../../src/device/device.js";
import { DeviceError } from "../../src/device/errors.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { TINY } from "../../src/device/presets.js";

const request = { memoryType: MemoryType.DRAM, sizeBytes: 256, pageSizeBytes: 64 };

for (const shared of [false, true]) {
  const kind = shared ? "shared" : "single-thread";

  test(`${kind}: inCriticalSection sees each change before the call returns, in seq order`, () => {
    const { allocator } = Device.create(TINY, { id: 1, shared });
    const seen: AllocatorChange[] = [];
    const record = (change: AllocatorChange) => {
      // The change is already applied: the counter stands at its seq.
      assert.equal(allocator.lastSeq, change.seq);
      seen.push(change);
    };
    const a = allocator.allocate(request, record);
    const b = allocator.allocate(request, record);
    const freed = allocator.deallocate(MemoryType.DRAM, a.address, record);
    assert.deepEqual(seen, [a, b, freed]);
    assert.deepEqual(
      seen.map((c) => c.seq),
      [1, 2, 3],
    );
  });

  test(`${kind}: a throwing callback keeps the change, releases the lock and propagates`, () => {
    const { allocator } = Device.create(TINY, { id: 2, shared });
    const boom = new Error("observer failed");
    assert.throws(
      () =>
        allocator.allocate(request, () => {
          throw boom;
        }),
      (error: unknown) => error === boom,
    );
    assert.equal(allocator.lastSeq, 1, "the allocation happened and took its seq");
    const [only] = allocator.snapshot().allocations; // would deadlock if the lock were still held
    assert.ok(only);
    const next = allocator.allocate(request);
    assert.equal(next.seq, 2);
    assert.notEqual(next.address, only.address);
  });

  test(`${kind}: calling the allocator from its own callback is a typed error, not a deadlock`, () => {
    const device = Device.create(TINY, { id: 3, shared });
    const { allocator } = device;
    const attempts: [string, () => unknown][] = [
      ["allocate", () => allocator.allocate(request)],
      ["deallocate", () => allocator.deallocate(MemoryType.DRAM, 0)],
      ["take a snapshot", () => allocator.snapshot()],
      ["read statistics", () => allocator.statistics(MemoryType.DRAM)],
      ["list blocks", () => allocator.blocks(MemoryType.DRAM)],
      ["close the device", () => device.close()],
    ];
    for (const [operation, attempt] of attempts) {
      allocator.allocate(request, () => {
        assert.throws(attempt, (error: unknown) => {
          assert.ok(error instanceof DeviceError);
          assert.equal(error.code, "DEVICE_REENTRANT_CALL");
          assert.equal(
            error.message,
            `Cannot ${operation} on device 3 from an inCriticalSection callback: the allocator lock is held; ` +
              "record the change and act on it after the call returns",
          );
          return true;
        });
      });
    }
    assert.equal(allocator.lastSeq, attempts.length);
    assert.equal(device.isInitialized(), true);
  });
}
