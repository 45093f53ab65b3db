// Property: the SelectionHeap keeps exactly the `limit` smallest entries by (key, tie), in the order a
// full sort gives, for any offers: ties on the key, ties on both, negative and fractional keys (sizes
// are offered negated, ages are fractional ms), more or fewer offers than the limit.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { SelectionHeap } from "../../src/server/selection-heap.js";

const noNegativeZero = (k: number): number => (Object.is(k, -0) ? 0 : k);

const keyArb = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double({ min: -1e15, max: 1e15, noNaN: true }).map(noNegativeZero),
);

const entriesArb = fc.array(
  fc.record({ key: keyArb, tie: fc.integer({ min: 0, max: 20 }), owner: fc.nat(7) }),
  { maxLength: 300 },
);

function byKeyThenTie(a: { key: number; tie: number }, b: { key: number; tie: number }): number {
  return a.key - b.key || a.tie - b.tie;
}

test("keeps exactly the top N by (key, tie), in full-sort order", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50 }), entriesArb, (limit, entries) => {
      const heap = new SelectionHeap(limit);
      for (const [slot, e] of entries.entries()) heap.offer(e.key, e.tie, slot, e.owner);

      const expected = [...entries].sort(byKeyThenTie).slice(0, limit);
      const kept = heap.sorted().map((p) => ({
        key: heap.keys[p],
        tie: heap.ties[p],
        slot: heap.slots[p],
        owner: heap.owners[p],
      }));
      assert.equal(heap.size, Math.min(limit, entries.length));
      assert.deepEqual(
        kept.map(({ key, tie }) => ({ key, tie })),
        expected.map(({ key, tie }) => ({ key, tie })),
      );
      // Payloads travel with their entry: each kept slot is a distinct offer with that key, tie and owner.
      assert.equal(new Set(kept.map((k) => k.slot)).size, kept.length);
      for (const k of kept) {
        const offered = entries[k.slot];
        assert.deepEqual(
          { key: k.key, tie: k.tie, owner: k.owner },
          { key: offered.key, tie: offered.tie, owner: offered.owner },
        );
      }
    }),
    { numRuns: 500 },
  );
});

test("a limit of one keeps the single smallest; nothing offered keeps nothing", () => {
  const heap = new SelectionHeap(1);
  assert.deepEqual(heap.sorted(), []);
  for (const [key, tie] of [
    [3, 1],
    [-2, 9],
    [-2, 4],
    [7, 0],
  ])
    heap.offer(key, tie, tie, 0);
  assert.deepEqual(
    heap.sorted().map((p) => [heap.keys[p], heap.ties[p]]),
    [[-2, 4]],
  );
});
