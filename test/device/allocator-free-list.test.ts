import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { FreeList, NO_FIT, NONE, SlotState } from "../../src/device/allocator/free-list.js";
import { FitPolicy } from "../../src/device/allocator/types.js";
import { Recency } from "./best-fit-recency.js";

const UNIT_BYTES = 32;
const REGION_UNITS = 256;
// Every block spans at least one unit: the slots never run out.
const CAPACITY = REGION_UNITS;
/**
 * Granules for best fit's size lists: every size listed (32), multiples of 3 units listed and the rest in
 * the tree as odd sizes (96), sizes below 4096 B listed and larger ones in the tree (1).
 */
const GRANULES = [UNIT_BYTES, 3 * UNIT_BYTES, 1];

type Op = { kind: "alloc"; units: number; bottomUp: boolean } | { kind: "free"; pick: number };

// Few distinct sizes, so that several free blocks of the same size (best-fit ties) are common.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("alloc" as const),
      units: fc.constantFrom(1, 1, 2, 2, 3, 4, 6, 9, 17),
      bottomUp: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("free" as const), pick: fc.nat() }) },
);

/**
 * The block a linear scan of the address-ordered block list picks: the specification of both indexes
 * (best fit: the smallest fitting size; among equal sizes the latest to take its size).
 */
function expectedOffset(
  list: FreeList,
  sizeBytes: number,
  bottomUp: boolean,
  bestFit: boolean,
  recency: Recency,
): number {
  let chosen = NONE;
  for (let s = list.firstBlock; s !== NONE; s = list.nextOf(s)) {
    if (list.stateOf(s) !== SlotState.FREE || list.sizeOf(s) < sizeBytes) continue;
    if (chosen === NONE) {
      chosen = s;
      continue;
    }
    const smaller = list.sizeOf(s) < list.sizeOf(chosen);
    const tie = list.sizeOf(s) === list.sizeOf(chosen);
    const later = (x: number) => recency.stampOf(0, list.offsetOf(x), list.sizeOf(x));
    // First fit: later in the scan = higher address: it wins only top-down.
    if (bestFit ? smaller || (tie && later(s) > later(chosen)) : !bottomUp) chosen = s;
  }
  if (chosen === NONE) return -1;
  return bottomUp ? list.offsetOf(chosen) : list.offsetOf(chosen) + list.sizeOf(chosen) - sizeBytes;
}

function run(ops: Op[], policy: FitPolicy, shared: boolean, granuleBytes: number): void {
  const bytes = FreeList.byteLength(CAPACITY);
  const buffer = shared ? new SharedArrayBuffer(bytes + 8) : new ArrayBuffer(bytes + 8);
  const list = new FreeList(buffer, 8, CAPACITY, REGION_UNITS * UNIT_BYTES, policy, granuleBytes);
  list.format();
  const bestFit = policy === FitPolicy.BEST_FIT;
  const recency = new Recency();
  const observe = () => {
    const free: { address: number; sizeBytes: number }[] = [];
    for (let s = list.firstBlock; s !== NONE; s = list.nextOf(s)) {
      if (list.stateOf(s) === SlotState.FREE)
        free.push({ address: list.offsetOf(s), sizeBytes: list.sizeOf(s) });
    }
    recency.observe(0, free);
  };
  observe();
  const live: number[] = [];
  let nextId = 1;
  for (const op of ops) {
    if (op.kind === "free") {
      if (live.length === 0) continue;
      const [offset] = live.splice(op.pick % live.length, 1);
      const slot = list.find(offset!);
      assert.notEqual(slot, NONE, "a live block is found by its address");
      list.release(slot);
      assert.equal(list.find(offset!), NONE, "a freed block is no longer found");
    } else {
      const sizeBytes = op.units * UNIT_BYTES;
      const expected = expectedOffset(list, sizeBytes, op.bottomUp, bestFit, recency);
      const slot = list.allocate(sizeBytes, op.bottomUp, 1, nextId, sizeBytes);
      if (expected < 0) {
        assert.equal(slot, NO_FIT, "no fitting free block");
      } else {
        assert.ok(slot >= 0, `allocation failed with ${slot}`);
        assert.equal(list.offsetOf(slot), expected, "the tree picks what the linear scan picks");
        assert.equal(list.allocationIdOf(slot), nextId);
        live.push(expected);
        nextId++;
      }
    }
    assert.equal(list.checkInvariants(), undefined);
    observe();
    let largest = 0;
    let freeBlocks = 0;
    for (let s = list.firstBlock; s !== NONE; s = list.nextOf(s)) {
      if (list.stateOf(s) !== SlotState.FREE) continue;
      freeBlocks++;
      largest = Math.max(largest, list.sizeOf(s));
    }
    assert.equal(list.largestFreeBytes, largest, "largest free block");
    assert.equal(list.freeBlocks, freeBlocks, "free block count");
    assert.equal(list.allocatedBlocks, live.length, "allocated block count");
  }
}

for (const [name, policy] of [
  ["first fit (address index)", FitPolicy.FIRST_FIT],
  ["best fit (size lists and tree)", FitPolicy.BEST_FIT],
] as const) {
  test(`free list, ${name}: agrees with a linear scan of the free blocks and keeps its invariants`, () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 250, size: "max" }),
        fc.boolean(),
        fc.constantFrom(...GRANULES),
        (ops, shared, granuleBytes) => run(ops, policy, shared, granuleBytes),
      ),
      { numRuns: 150 },
    );
  });
}
