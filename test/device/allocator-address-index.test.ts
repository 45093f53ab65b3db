import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ADDRESS_GROUP, AddressIndex } from "../../src/device/allocator/address-index.js";
import {
  addressIndexSlots,
  addressIndexView,
  checkAddressIndex,
} from "../../src/device/allocator/address-index-check.js";
import { NONE } from "../../src/device/allocator/free-list.js";
import { type Op, opArb, SPAN } from "./index-ops.js";

// Sizes 1..40: every group holds a mix.
const OPS = { maxSize: 40, findWeight: 3 };

// First fit's address index on its own against a plain model (a map of the free blocks, searched
// linearly), with enough blocks for groups to split and merge many times and for several spans of groups.

interface Block {
  address: number;
  size: number;
}

/** What the index must answer: the lowest (bottom-up) or highest fitting address, by a linear search. */
function expected(model: Map<number, Block>, n: number, bottomUp: boolean): number {
  let chosen = NONE;
  let best: Block | undefined;
  for (const [slot, b] of model) {
    if (b.size < n) continue;
    if (best === undefined || (bottomUp ? b.address < best.address : b.address > best.address)) {
      chosen = slot;
      best = b;
    }
  }
  return chosen;
}

function newIndex(capacity: number, shared: boolean): AddressIndex {
  const bytes = AddressIndex.byteLength(capacity) + 8;
  const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const index = new AddressIndex(buffer, 8, capacity);
  index.format();
  return index;
}

/** Applies one step to the index and the model; returns the search's answer for "find". */
function step(index: AddressIndex, model: Map<number, Block>, op: Op): void {
  if (op.kind === "insert") {
    if (model.has(op.slot)) return;
    const address = op.slot * SPAN + op.offset;
    index.insert(op.slot, address, op.size);
    model.set(op.slot, { address, size: op.size });
  } else if (op.kind === "remove" || op.kind === "resize") {
    if (model.size === 0) return;
    const slot = [...model.keys()][op.pick % model.size]!;
    if (op.kind === "remove") {
      index.remove(slot);
      model.delete(slot);
    } else {
      const address = slot * SPAN + op.offset;
      index.resize(slot, address, op.size);
      model.set(slot, { address, size: op.size });
    }
  } else {
    const want = expected(model, op.n, op.bottomUp);
    const got = index.findFirst(op.n, op.bottomUp);
    assert.equal(got, want, `search for ${op.n} (${op.bottomUp ? "bottom-up" : "top-down"})`);
    if (got !== NONE) {
      // As the allocator does: the found block shrinks (its search hint must point at it) or leaves.
      const b = model.get(got)!;
      if (b.size > op.n) {
        const address = op.bottomUp ? b.address + 1 : b.address;
        index.resize(got, address, b.size - op.n);
        model.set(got, { address, size: b.size - op.n });
      } else {
        index.remove(got);
        model.delete(got);
      }
    }
  }
}

function assertSameAsModel(index: AddressIndex, model: Map<number, Block>): void {
  assert.equal(checkAddressIndex(index), undefined);
  assert.equal(index.count, model.size, "count");
  let largest = 0;
  for (const b of model.values()) largest = Math.max(largest, b.size);
  assert.equal(index.largestBytes, largest, "largest");
  const sorted = [...model.entries()].sort(([, a], [, b]) => a.address - b.address).map(([slot]) => slot);
  assert.deepEqual(addressIndexSlots(index), sorted, "address order");
  for (const [slot, b] of model)
    assert.deepEqual(addressIndexView(index, slot), { address: b.address, sizeBytes: b.size });
}

test("address index: searches, counts and order agree with a model through splits and merges", () => {
  // Up to 1500 slots: over a hundred groups, several spans of group bounds.
  const runArb = fc
    .tuple(fc.integer({ min: 1, max: 1500 }), fc.integer({ min: 1, max: 10 }))
    .chain(([capacity, insertWeight]) =>
      fc.tuple(
        fc.constant(capacity),
        fc.array(opArb(capacity, insertWeight, OPS), { maxLength: 3000, size: "max" }),
        fc.boolean(),
      ),
    );
  fc.assert(
    fc.property(runArb, ([capacity, ops, shared]) => {
      const index = newIndex(capacity, shared);
      const model = new Map<number, Block>();
      for (const op of ops) {
        step(index, model, op);
        assert.equal(index.count, model.size, "count");
      }
      assertSameAsModel(index, model);
    }),
    { numRuns: 40 },
  );
});

test("address index: checks its invariants after every step of a short run", () => {
  fc.assert(
    fc.property(fc.array(opArb(200, 3, OPS), { maxLength: 400 }), (ops) => {
      const index = newIndex(200, false);
      const model = new Map<number, Block>();
      for (const op of ops) {
        step(index, model, op);
        assert.equal(checkAddressIndex(index), undefined);
      }
      assertSameAsModel(index, model);
    }),
    { numRuns: 100 },
  );
});

test("address index: holds every slot of its capacity free at once, then none", () => {
  for (const capacity of [1, 2, 7, 8, 9, 16, 17, 63, 64, 65, 129, 1000, 4099]) {
    const index = newIndex(capacity, false);
    // Insert in a scrambled order (a stride coprime with the capacity), remove in another.
    const [a, b] = [7, 11, 13, 17].filter((s) => capacity % s !== 0);
    for (let i = 0; i < capacity; i++) {
      const slot = (i * a!) % capacity;
      index.insert(slot, slot * SPAN, 1 + (slot % 5));
    }
    assert.equal(index.count, capacity);
    assert.equal(checkAddressIndex(index), undefined, `full at capacity ${capacity}`);
    for (let i = 0; i < capacity; i++) {
      index.remove((i * b!) % capacity);
      if (i % 97 === 0) assert.equal(checkAddressIndex(index), undefined, `removing at capacity ${capacity}`);
    }
    assert.equal(index.count, 0);
    assert.equal(index.largestBytes, 0);
    assert.equal(index.findFirst(1, true), NONE);
    assert.equal(checkAddressIndex(index), undefined, `emptied at capacity ${capacity}`);
  }
});

test("address index: the most groups its capacity allows (full and near-empty groups alternating)", () => {
  // Ascending insertions leave groups half full; emptying every other group to one entry keeps each
  // neighbouring pair above the merge threshold, so nothing merges; refilling to capacity then needs the
  // most groups the reservation allows.
  const capacity = 2000;
  const index = newIndex(capacity, false);
  const model = new Map<number, Block>();
  const free: number[] = [];
  for (let slot = 0; slot < capacity; slot++) {
    index.insert(slot, slot * SPAN, 1 + (slot % 7));
    model.set(slot, { address: slot * SPAN, size: 1 + (slot % 7) });
  }
  const half = ADDRESS_GROUP / 2;
  for (let round = 0; round < 3; round++) {
    const slots = addressIndexSlots(index);
    for (let i = 0; i < slots.length; i++) {
      // In each run of 2 * half entries, keep the first half and one more.
      const k = i % (2 * half);
      if (k > half && model.size > 1) {
        index.remove(slots[i]!);
        model.delete(slots[i]!);
        free.push(slots[i]!);
      }
    }
    assert.equal(checkAddressIndex(index), undefined, `thinned, round ${round}`);
    // Refill at scattered addresses inside the freed slots' spans.
    while (free.length > 0) {
      const slot = free.pop()!;
      const address = slot * SPAN + 1 + round;
      index.insert(slot, address, 3);
      model.set(slot, { address, size: 3 });
    }
    assertSameAsModel(index, model);
  }
});
