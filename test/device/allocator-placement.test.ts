import assert from "node:assert/strict";
import { test } from "node:test";
import { Device } from "../../src/device/device.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { TINY } from "../../src/device/presets.js";

test("DRAM allocates bottom-up from the region base, L1 top-down from the region top", () => {
  const device = Device.create(TINY, { id: 0 });
  const dram = device.layout.regions[device.layout.regionOfType[MemoryType.DRAM]!]!;
  const l1 = device.layout.regions[device.layout.regionOfType[MemoryType.L1]!]!;
  const a = device.allocator.allocate({ memoryType: MemoryType.DRAM, sizeBytes: 256, pageSizeBytes: 64 });
  const b = device.allocator.allocate({ memoryType: MemoryType.DRAM, sizeBytes: 256, pageSizeBytes: 64 });
  assert.equal(a.address, dram.baseAddressBytes);
  assert.equal(a.sizePerBankBytes, 128); // 4 pages over 2 banks
  assert.equal(b.address, dram.baseAddressBytes + 128);
  const c = device.allocator.allocate({ memoryType: MemoryType.L1, sizeBytes: 1024, pageSizeBytes: 256 });
  assert.equal(c.sizePerBankBytes, 256); // 4 pages over 4 banks
  assert.equal(c.address, l1.baseAddressBytes + l1.sizePerBankBytes - 256);
  const cb = device.allocator.allocate({ memoryType: MemoryType.CB, sizeBytes: 64, pageSizeBytes: 64 });
  assert.equal(cb.address, l1.baseAddressBytes); // CBs share the L1 region, bottom-up
  assert.deepEqual([a.seq, b.seq, c.seq, cb.seq], [1, 2, 3, 4]);
  assert.deepEqual([a.allocationId, b.allocationId, c.allocationId, cb.allocationId], [1, 2, 3, 4]);
  const freed = device.allocator.deallocate(MemoryType.DRAM, a.address);
  assert.equal(freed.seq, 5);
  assert.equal(freed.allocationId, a.allocationId);
  assert.equal(device.allocator.lastSeq, 5);
  const snap = device.allocator.snapshot();
  assert.equal(snap.seq, 5);
  assert.deepEqual(snap.allocations.map((x) => x.allocationId).sort(), [2, 3, 4]);
});
