import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { FreeTree, NONE } from "../../src/device/allocator/free-tree.js";
import { checkFreeTree, freeTreeSlots, freeTreeView } from "../../src/device/allocator/free-tree-check.js";
import { type Op, opArb, SPAN } from "./index-ops.js";

// Few sizes: many ties, decided by the second key.
const OPS = { maxSize: 24, findWeight: 2 };

// The free tree on its own against a plain model (a map of the free blocks, searched linearly), with
// enough blocks for the B+ tree to split, merge, borrow and change height many times. The tests use a
// block's address as its second key (BestFitIndex uses minus a recency stamp): unique per slot.

interface Block {
  address: number;
  size: number;
}

/** What the tree must answer: the model's linear search (smallest fitting size, then least address). */
function expected(model: Map<number, Block>, n: number): number {
  let chosen = NONE;
  let best: Block | undefined;
  for (const [slot, b] of model) {
    if (b.size < n) continue;
    if (best === undefined || b.size < best.size || (b.size === best.size && b.address < best.address)) {
      chosen = slot;
      best = b;
    }
  }
  return chosen;
}

function newTree(capacity: number, shared: boolean): FreeTree {
  const bytes = FreeTree.byteLength(capacity) + 8;
  const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const tree = new FreeTree(buffer, 8, capacity);
  tree.format();
  return tree;
}

/** Applies one step to the tree and the model. */
function step(tree: FreeTree, model: Map<number, Block>, op: Op): void {
  if (op.kind === "insert") {
    if (model.has(op.slot)) return;
    const address = op.slot * SPAN + op.offset;
    tree.insert(op.slot, address, op.size);
    model.set(op.slot, { address, size: op.size });
  } else if (op.kind === "remove" || op.kind === "resize") {
    if (model.size === 0) return;
    const slot = [...model.keys()][op.pick % model.size]!;
    if (op.kind === "remove") {
      tree.remove(slot);
      model.delete(slot);
    } else {
      const address = slot * SPAN + op.offset;
      tree.resize(slot, address, op.size);
      model.set(slot, { address, size: op.size });
    }
  } else {
    const got = tree.findBest(op.n);
    assert.equal(got, expected(model, op.n), `search for ${op.n}`);
    if (got === NONE) return;
    // The search's entry hint must not confuse what follows on the found block: a resize to the same key,
    // or, as the allocator does, a shrink (in place or moved) or its removal.
    const b = model.get(got)!;
    if (!op.bottomUp) {
      tree.resize(got, b.address, b.size);
    } else if (b.size > op.n) {
      tree.resize(got, b.address, b.size - op.n);
      model.set(got, { address: b.address, size: b.size - op.n });
    } else {
      tree.remove(got);
      model.delete(got);
    }
  }
}

function assertSameAsModel(tree: FreeTree, model: Map<number, Block>): void {
  assert.equal(checkFreeTree(tree), undefined);
  const inOrder = freeTreeSlots(tree);
  const sorted = [...model.entries()]
    .sort(([, a], [, b]) => a.size - b.size || a.address - b.address)
    .map(([slot]) => slot);
  assert.deepEqual(inOrder, sorted, "tree order");
  for (const [slot, b] of model)
    assert.deepEqual(freeTreeView(tree, slot), { secondKey: b.address, sizeBytes: b.size });
}

test("free tree: searches, counts and order agree with a model through splits and merges", () => {
  // Long runs over up to 400 slots: hundreds of blocks make a tree of three or four levels.
  const runArb = fc
    .tuple(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 8 }))
    .chain(([capacity, insertWeight]) =>
      fc.tuple(
        fc.constant(capacity),
        fc.array(opArb(capacity, insertWeight, OPS), { maxLength: 1500, size: "max" }),
        fc.boolean(),
      ),
    );
  fc.assert(
    fc.property(runArb, ([capacity, ops, shared]) => {
      const tree = newTree(capacity, shared);
      const model = new Map<number, Block>();
      for (const op of ops) {
        step(tree, model, op);
        assert.equal(tree.count, model.size, "count");
        let largest = 0;
        for (const b of model.values()) largest = Math.max(largest, b.size);
        assert.equal(tree.largestBytes, largest, "largest");
      }
      assertSameAsModel(tree, model);
    }),
    { numRuns: 60 },
  );
});

test("free tree: checks its invariants after every step of a short run", () => {
  fc.assert(
    fc.property(fc.array(opArb(64, 3, OPS), { maxLength: 300 }), (ops) => {
      const tree = newTree(64, false);
      const model = new Map<number, Block>();
      for (const op of ops) {
        step(tree, model, op);
        assert.equal(checkFreeTree(tree), undefined);
      }
      assertSameAsModel(tree, model);
    }),
    { numRuns: 100 },
  );
});

test("free tree: holds every slot of its capacity free at once, then none", () => {
  for (const capacity of [1, 2, 7, 8, 9, 16, 17, 63, 64, 65, 129, 1000, 4099]) {
    const tree = newTree(capacity, false);
    // Insert in a scrambled order (a stride coprime with the capacity), remove in another.
    const [a, b] = [7, 11, 13, 17].filter((s) => capacity % s !== 0);
    for (let i = 0; i < capacity; i++) {
      const slot = (i * a!) % capacity;
      tree.insert(slot, slot * SPAN, 1 + (slot % 5));
    }
    assert.equal(tree.count, capacity);
    assert.equal(tree.largestBytes, Math.min(capacity, 5));
    assert.equal(checkFreeTree(tree), undefined, `full at capacity ${capacity}`);
    for (let i = 0; i < capacity; i++) {
      tree.remove((i * b!) % capacity);
      if (i % 97 === 0) assert.equal(checkFreeTree(tree), undefined, `removing at capacity ${capacity}`);
    }
    assert.equal(tree.count, 0);
    assert.equal(tree.largestBytes, 0);
    assert.equal(tree.findBest(1), NONE);
    assert.equal(checkFreeTree(tree), undefined, `emptied at capacity ${capacity}`);
  }
});
