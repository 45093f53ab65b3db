import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { Allocation } from "../../src/device/allocator/types.js";
import { Device } from "../../src/device/device.js";
import { DeviceError } from "../../src/device/errors.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { TINY } from "../../src/device/presets.js";
import { checkAllocatorState } from "./allocator-checks.js";
import { Recency } from "./best-fit-recency.js";

type Op =
  | {
      kind: "alloc";
      memoryType: MemoryType;
      pages: number;
      pageSizeBytes: number;
      interleaved: boolean;
      bottomUp: boolean | undefined;
    }
  | { kind: "free"; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("alloc" as const),
      // Weighted towards the busy regions so that holes (several fitting free blocks) are common.
      memoryType: fc.constantFrom(
        MemoryType.DRAM,
        MemoryType.DRAM,
        MemoryType.L1,
        MemoryType.L1,
        MemoryType.CB,
        MemoryType.L1_SMALL,
        MemoryType.TRACE,
        MemoryType.KERNEL,
        MemoryType.SYSTEM_MEMORY,
      ),
      pages: fc.integer({ min: 1, max: 12 }),
      pageSizeBytes: fc.constantFrom(16, 32, 64, 100, 256, 512, 1000, 2048),
      interleaved: fc.boolean(),
      bottomUp: fc.option(fc.boolean(), { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }) },
);

const alignUp = (value: number, alignment: number) => Math.ceil(value / alignment) * alignment;

function runSequence(ops: Op[], policy: "first-fit" | "best-fit", shared: boolean): void {
  const device = Device.create(TINY, { id: 7, policy, shared, maxBlocksPerRegion: 256 });
  const { allocator, layout } = device;
  const live: Allocation[] = [];
  const seenIds = new Set<number>();
  let seq = 0;
  const recency = new Recency();
  const observe = (memoryType: MemoryType) => {
    const free = allocator.blocks(memoryType).filter((b) => b.free);
    recency.observe(
      layout.regionOfType[memoryType]!,
      free.map((b) => ({ address: b.address, sizeBytes: b.sizePerBankBytes })),
    );
  };
  for (const region of layout.regions) observe(region.memoryTypes[0]!);
  for (const op of ops) {
    if (op.kind === "free") {
      if (live.length === 0) continue;
      const [victim] = live.splice(op.pick % live.length, 1);
      const freed = allocator.deallocate(victim!.memoryType, victim!.address);
      observe(victim!.memoryType);
      seq++;
      assert.equal(freed.seq, seq, "a free takes the next sequence number");
      assert.equal(freed.allocationId, victim!.allocationId);
      assert.equal(freed.sizeBytes, victim!.sizeBytes);
      assert.equal(freed.sizePerBankBytes, victim!.sizePerBankBytes);
      assert.equal(freed.bankCount, victim!.bankCount);
    } else {
      const region = layout.regions[layout.regionOfType[op.memoryType]!]!;
      const banks = op.interleaved ? region.bankCount : 1;
      const need = alignUp(
        Math.max(
          Math.ceil(op.pages / banks) * alignUp(op.pageSizeBytes, region.alignmentBytes),
          region.minAllocationBytes,
        ),
        region.alignmentBytes,
      );
      const bottomUp = op.bottomUp ?? layout.bottomUpByDefault[op.memoryType]!;
      const candidates = allocator.blocks(op.memoryType).filter((b) => b.free && b.sizePerBankBytes >= need);
      let chosen = candidates[0];
      const r = layout.regionOfType[op.memoryType]!;
      // Best fit: among equal sizes, the latest to take its size (either direction).
      const later = (c: { address: number; sizePerBankBytes: number }) =>
        recency.stampOf(r, c.address, c.sizePerBankBytes);
      for (const c of candidates) {
        if (chosen === undefined) break;
        const better =
          policy === "best-fit"
            ? c.sizePerBankBytes < chosen.sizePerBankBytes ||
              (c.sizePerBankBytes === chosen.sizePerBankBytes && later(c) > later(chosen))
            : bottomUp
              ? c.address < chosen.address
              : c.address > chosen.address;
        if (better) chosen = c;
      }
      const request = {
        memoryType: op.memoryType,
        sizeBytes: op.pages * op.pageSizeBytes,
        pageSizeBytes: op.pageSizeBytes,
        interleaved: op.interleaved,
        ...(op.bottomUp === undefined ? {} : { bottomUp: op.bottomUp }),
      };
      if (chosen === undefined) {
        assert.throws(
          () => allocator.allocate(request),
          (e: unknown) => e instanceof DeviceError && e.code === "DEVICE_OUT_OF_MEMORY",
        );
        assert.equal(allocator.lastSeq, seq, "a failed allocation takes no sequence number");
      } else {
        const a = allocator.allocate(request);
        observe(op.memoryType);
        seq++;
        assert.equal(a.seq, seq, "an allocation takes the next sequence number");
        assert.equal(a.sizePerBankBytes, need, "size per bank = ceil(pages / banks) x aligned page");
        assert.equal(a.bankCount, banks);
        const expectedAddress = bottomUp ? chosen.address : chosen.address + chosen.sizePerBankBytes - need;
        assert.equal(
          a.address,
          expectedAddress,
          `${policy} ${bottomUp ? "bottom-up" : "top-down"} placement`,
        );
        assert.ok(!seenIds.has(a.allocationId), "allocation ids are never reused");
        seenIds.add(a.allocationId);
        live.push(a);
      }
    }
    assert.equal(allocator.lastSeq, seq);
    checkAllocatorState(allocator);
  }
  const snapshot = allocator.snapshot();
  assert.equal(snapshot.seq, seq);
  const key = (x: { allocationId: number; memoryType: number; address: number; sizeBytes: number }) =>
    `${x.allocationId}/${x.memoryType}/${x.address}/${x.sizeBytes}`;
  assert.deepEqual(snapshot.allocations.map(key).sort(), live.map(key).sort(), "snapshot = live set");
}

for (const policy of ["first-fit", "best-fit"] as const) {
  test(`${policy}: random allocate/free sequences keep every allocator invariant`, () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 150, size: "max" }), fc.boolean(), (ops, shared) =>
        runSequence(ops, policy, shared),
      ),
      { numRuns: 100 },
    );
  });
}

test("a long first-fit run through the same region stays consistent (coalescing, reuse)", () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 300, maxLength: 600, size: "max" }), (ops) =>
      runSequence(ops, "first-fit", false),
    ),
    { numRuns: 5 },
  );
});
