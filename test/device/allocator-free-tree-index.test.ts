import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { FreeTree, NONE, TreeOrder } from "../../src/device/allocator/free-tree.js";
import { checkFreeTree, freeTreeSlots, freeTreeView } from "../../src/device/allocator/free-tree-check.js";
import { type Op, opArb, SPAN } from "./index-ops.js";

// Few sizes: many ties for best fit.
const OPS = { maxSize: 24, findWeight: 2 };

// The free tree on its own against a plain model (a map of the free blocks, searched linearly), with
// enough blocks for the B+ tree to split, merge, borrow and change height many times.

interface Block {
  address: number;
  size: number;
}

/** What the tree must answer: the model's linear search. */
function expected(model: Map<number, Block>, n: number, bottomUp: boolean, bySize: boolean): number {
  let chosen = NONE;
  let best: Block | undefined;
  for (const [slot, b] of model) {
    if (b.size < n) continue;
    let better: boolean;
    if (best === undefined) better = true;
    else if (bySize && b.size !== best.size) better = b.size < best.size;
    else better = bottomUp ? b.address < best.address : b.address > best.address;
    if (better) {
      chosen = slot;
      best = b;
    }
  }
  return chosen;
}

function newTree(capacity: number, order: TreeOrder, shared: boolean): FreeTree {
  const bytes = FreeTree.byteLength(capacity) + 8;
  const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const tree = new FreeTree(buffer, 8, capacity, order);
  tree.format();
  return tree;
}

function run(ops: Op[], capacity: number, order: TreeOrder, shared: boolean): void {
  const bySize = order === TreeOrder.BY_SIZE;
  const tree = newTree(capacity, order, shared);
  const model = new Map<number, Block>();
  for (const op of ops) {
    if (op.kind === "insert") {
      if (model.has(op.slot)) continue;
      const address = op.slot * SPAN + op.offset;
      tree.insert(op.slot, address, op.size);
      model.set(op.slot, { address, size: op.size });
    } else if (op.kind === "remove" || op.kind === "resize") {
      if (model.size === 0) continue;
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
      const want = expected(model, op.n, op.bottomUp, bySize);
      const got = bySize ? tree.findBest(op.n, op.bottomUp) : tree.findFirst(op.n, op.bottomUp);
      assert.equal(got, want, `search for ${op.n} (${op.bottomUp ? "bottom-up" : "top-down"})`);
      if (got !== NONE) {
        // The search's entry hint must not confuse a resize of the found block.
        const b = model.get(got)!;
        tree.resize(got, b.address, b.size);
      }
    }
    assert.equal(tree.count, model.size, "count");
    let largest = 0;
    for (const b of model.values()) largest = Math.max(largest, b.size);
    assert.equal(tree.largestBytes, largest, "largest");
  }
  assert.equal(checkFreeTree(tree), undefined);
  const inOrder = freeTreeSlots(tree);
  const sorted = [...model.entries()]
    .sort(([, a], [, b]) => (bySize ? a.size - b.size || a.address - b.address : a.address - b.address))
    .map(([slot]) => slot);
  assert.deepEqual(inOrder, sorted, "tree order");
  for (const [slot, b] of model)
    assert.deepEqual(freeTreeView(tree, slot), { address: b.address, sizeBytes: b.size });
}

for (const [name, order] of [
  ["by address", TreeOrder.BY_ADDRESS],
  ["by size", TreeOrder.BY_SIZE],
] as const) {
  test(`free tree ${name}: searches, counts and order agree with a model through splits and merges`, () => {
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
      fc.property(runArb, ([capacity, ops, shared]) => run(ops, capacity, order, shared)),
      { numRuns: 60 },
    );
  });

  test(`free tree ${name}: checks its invariants after every step of a short run`, () => {
    fc.assert(
      fc.property(fc.array(opArb(64, 3, OPS), { maxLength: 300 }), (ops) => {
        const bySize = order === TreeOrder.BY_SIZE;
        const tree = newTree(64, order, false);
        const model = new Map<number, Block>();
        for (const op of ops) {
          if (op.kind === "insert" && !model.has(op.slot)) {
            model.set(op.slot, { address: op.slot * SPAN + op.offset, size: op.size });
            tree.insert(op.slot, op.slot * SPAN + op.offset, op.size);
          } else if (op.kind === "remove" && model.size > 0) {
            const slot = [...model.keys()][op.pick % model.size]!;
            model.delete(slot);
            tree.remove(slot);
          } else if (op.kind === "resize" && model.size > 0) {
            const slot = [...model.keys()][op.pick % model.size]!;
            model.set(slot, { address: slot * SPAN + op.offset, size: op.size });
            tree.resize(slot, slot * SPAN + op.offset, op.size);
          } else if (op.kind === "find") {
            const got = bySize ? tree.findBest(op.n, op.bottomUp) : tree.findFirst(op.n, op.bottomUp);
            assert.equal(got, expected(model, op.n, op.bottomUp, bySize));
          }
          assert.equal(checkFreeTree(tree), undefined);
        }
      }),
      { numRuns: 100 },
    );
  });

  test(`free tree ${name}: holds every slot of its capacity free at once, then none`, () => {
    for (const capacity of [1, 2, 7, 8, 9, 16, 17, 63, 64, 65, 129, 1000, 4099]) {
      const tree = newTree(capacity, order, false);
      // Insert in a scrambled order (a stride coprime with the capacity), remove in another.
      const [a, b] = [7, 11, 13, 17].filter((s) => capacity % s !== 0);
      for (let i = 0; i < capacity; i++) {
        const slot = (i * a!) % capacity;
        tree.insert(slot, slot * SPAN, 1 + (slot % 5));
      }
      assert.equal(tree.count, capacity);
      assert.equal(checkFreeTree(tree), undefined, `full at capacity ${capacity}`);
      for (let i = 0; i < capacity; i++) {
        tree.remove((i * b!) % capacity);
        if (i % 97 === 0) assert.equal(checkFreeTree(tree), undefined, `removing at capacity ${capacity}`);
      }
      assert.equal(tree.count, 0);
      assert.equal(tree.largestBytes, 0);
      assert.equal(checkFreeTree(tree), undefined, `emptied at capacity ${capacity}`);
    }
  });
}
