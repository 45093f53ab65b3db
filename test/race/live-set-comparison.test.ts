// The replayed live set is compared with the allocator's own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ChangeOp } from "../../src/device/change.js";
import { Device } from "../../src/device/device.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { TINY } from "../../src/device/presets.js";
import { compareLiveSets } from "../../src/race/live-set-comparison.js";
import { type ReplayEvent, replayEvents } from "../../src/race/replay.js";

const A = ChangeOp.ALLOC;

function ev(op: ChangeOp, seq: number, allocationId: number, address: number, sizeBytes = 64): ReplayEvent {
  return { op, deviceId: 0, memoryType: MemoryType.DRAM, seq, allocationId, address, sizeBytes };
}

test("the replayed live set is compared with the allocator's snapshot", () => {
  const device = Device.create(TINY, { id: 0 });
  const a = device.allocator.allocate({ memoryType: MemoryType.DRAM, sizeBytes: 64, pageSizeBytes: 64 });
  const b = device.allocator.allocate({ memoryType: MemoryType.DRAM, sizeBytes: 128, pageSizeBytes: 64 });
  const snapshot = device.allocator.snapshot().allocations;
  const alloc = (x: typeof a) => ev(A, x.seq, x.allocationId, x.address, x.sizeBytes);

  const exact = replayEvents([alloc(b), alloc(a)], { mode: "ordered" }).live.get("0:0")!;
  assert.deepEqual(compareLiveSets("ordered", exact, snapshot), { equal: true, missing: [], extra: [] });

  const lost = replayEvents([alloc(a)], { mode: "ordered", firstSeq: 1 }).live.get("0:0")!;
  const cmp = compareLiveSets("ordered", lost, snapshot);
  assert.equal(cmp.equal, false);
  assert.deepEqual(
    cmp.missing.map((m) => m.allocationId),
    [b.allocationId],
  );

  const phantom = [
    ...exact,
    { allocationId: 99, memoryType: MemoryType.DRAM, address: 0x4000, sizeBytes: 64, refCount: 1 },
  ];
  assert.deepEqual(
    compareLiveSets("ordered", phantom, snapshot).extra.map((e) => e.allocationId),
    [99],
  );
  // Naive mode cannot trust ids: it matches by type, address and size.
  const renumbered = exact.map((e) => ({ ...e, allocationId: 0 }));
  assert.equal(compareLiveSets("naive", renumbered, snapshot).equal, true);
});
