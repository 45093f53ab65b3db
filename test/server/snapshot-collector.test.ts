// The snapshot collector alone: chunks accumulate in arrival order up to the total SNAPSHOT_BEGIN
// announced and never past it (a chunk that would exceed it is refused whole), and the storage it
// grows never exceeds that total.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { LiveAllocation } from "../../src/protocol/event.js";
import { SnapshotCollector, SnapshotIntakeBudget } from "../../src/server/snapshot-collector.js";

const allocationArb: fc.Arbitrary<LiveAllocation> = fc.record({
  allocationId: fc.nat(Number.MAX_SAFE_INTEGER),
  memoryType: fc.nat(6) as fc.Arbitrary<LiveAllocation["memoryType"]>,
  address: fc.nat(Number.MAX_SAFE_INTEGER),
  sizeBytes: fc.nat(Number.MAX_SAFE_INTEGER),
});

function collected(snapshot: SnapshotCollector): LiveAllocation[] {
  return Array.from({ length: snapshot.count }, (_, i) => ({
    allocationId: snapshot.ids[i],
    memoryType: snapshot.types[i] as LiveAllocation["memoryType"],
    address: snapshot.addresses[i],
    sizeBytes: snapshot.sizes[i],
  }));
}

test("chunks are kept in order up to the announced total; a chunk past it is refused whole", () => {
  fc.assert(
    fc.property(
      fc.nat(700),
      // Chunk lengths around the 256-entry first growth step; the allocations are reused cyclically.
      fc.array(fc.nat(300), { maxLength: 12 }),
      fc.array(allocationArb, { minLength: 1, maxLength: 50 }),
      (total, lengths, pool) => {
        const snapshot = new SnapshotCollector(3, 99, total);
        const expected: LiveAllocation[] = [];
        let next = 0;
        for (const length of lengths) {
          const chunk = Array.from({ length }, () => ({ ...pool[next++ % pool.length] }));
          const fits = expected.length + length <= total;
          assert.equal(snapshot.add(chunk), fits);
          if (fits) expected.push(...chunk);
          assert.equal(snapshot.count, expected.length);
          assert.equal(snapshot.complete, expected.length === total);
          assert.ok(snapshot.ids.length <= total, `${snapshot.ids.length} slots for ${total} announced`);
        }
        assert.deepEqual(collected(snapshot), expected);
      },
    ),
    { numRuns: 300 },
  );
});

test("an empty snapshot is complete at once; one chunk over the total is refused", () => {
  const empty = new SnapshotCollector(1, 0, 0);
  assert.equal(empty.complete, true);
  assert.equal(empty.add([]), true);
  const a = { allocationId: 1, memoryType: 0, address: 0, sizeBytes: 4096 } as const;
  assert.equal(empty.add([a]), false);
  assert.equal(empty.count, 0);

  const two = new SnapshotCollector(1, 5, 2);
  assert.equal(two.add([a]), true);
  assert.equal(two.complete, false);
  assert.equal(two.add([a, a]), false, "2 would make 3 of 2");
  assert.equal(two.count, 1);
  assert.equal(two.add([a]), true);
  assert.equal(two.complete, true);
});

test("kept entries never pass the keep limit nor the shared intake budget; the rest is counted, not kept", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 600 }),
      fc.integer({ min: 0, max: 700 }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 700 }), fc.array(fc.nat(300), { maxLength: 6 })), {
        minLength: 1,
        maxLength: 4,
      }),
      (keepLimit, budgetEntries, snapshots) => {
        const budget = new SnapshotIntakeBudget(budgetEntries);
        const a = { allocationId: 7, memoryType: 0, address: 0, sizeBytes: 64 } as const;
        const collectors = snapshots.map(([total, lengths], i) => {
          const c = new SnapshotCollector(i, 0, total, keepLimit, budget);
          for (const length of lengths) c.add(Array.from({ length }, () => a));
          return c;
        });
        let held = 0;
        for (const c of collectors) {
          assert.ok(c.stored <= keepLimit && c.stored <= c.count, `${c.stored} kept of ${c.count}`);
          assert.ok(c.ids.length <= keepLimit, `${c.ids.length} slots past the keep limit ${keepLimit}`);
          assert.equal(c.unstored, c.count - c.stored);
          held += c.ids.length;
        }
        assert.equal(budget.heldEntries, held, "the budget holds what the collectors hold");
        assert.ok(held <= budgetEntries, `${held} held of a budget of ${budgetEntries}`);
        for (const c of collectors) {
          c.release();
          c.release(); // idempotent
        }
        assert.equal(budget.heldEntries, 0, "released collectors give every entry back");
      },
    ),
    { numRuns: 300 },
  );
});

test("a collector short of budget keeps what it can and counts the rest", () => {
  const budget = new SnapshotIntakeBudget(300);
  const a = { allocationId: 1, memoryType: 0, address: 0, sizeBytes: 64 } as const;
  const first = new SnapshotCollector(1, 0, 1000, 1000, budget);
  assert.equal(first.add(Array.from({ length: 1000 }, () => a)), true);
  assert.deepEqual([first.count, first.stored, first.unstored, first.complete], [1000, 300, 700, true]);
  const second = new SnapshotCollector(2, 0, 10, 1000, budget);
  second.add(Array.from({ length: 10 }, () => a));
  assert.equal(second.stored, 0, "nothing left in the budget");
  first.release();
  const third = new SnapshotCollector(3, 0, 10, 1000, budget);
  third.add(Array.from({ length: 10 }, () => a));
  assert.equal(third.stored, 10, "the released entries are free again");
});
