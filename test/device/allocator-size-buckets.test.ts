import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { SizeBuckets } from "../../src/device/allocator/size-buckets.js";

// Best fit's size lists alone, against a model (an array of slots per list, newest first): searches from
// every list, across bitmap words and summary words, the largest listed size and the count.

const CAPACITY = 64;
const GRANULE_BYTES = 16;
/** Lists 1 .. 4095: sizes near both ends and around the 32- and 1024-list boundaries of the bitmap. */
const listArb = fc.oneof(
  fc.integer({ min: 1, max: 40 }),
  fc.integer({ min: 1000, max: 1100 }),
  fc.integer({ min: 4060, max: 4095 }),
  fc.integer({ min: 1, max: 4095 }),
);

type Op =
  | { kind: "insert"; slot: number; list: number }
  | { kind: "remove"; pick: number }
  | { kind: "find"; sizeBytes: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), slot: fc.nat(CAPACITY - 1), list: listArb }),
  fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant("find" as const),
    // Whole granules, odd sizes in between, and sizes past the last list.
    sizeBytes: fc.oneof(
      listArb.map((b) => b * GRANULE_BYTES),
      fc.integer({ min: 1, max: 4096 * GRANULE_BYTES + 100 }),
    ),
  }),
);

test("size lists agree with a model: smallest fitting list, newest first, largest size, count", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 300 }), fc.boolean(), (ops, shared) => {
      const bytes = SizeBuckets.byteLength(CAPACITY) + 8;
      const buffer = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
      const buckets = new SizeBuckets(buffer, 8, CAPACITY, GRANULE_BYTES);
      buckets.format();
      const model = new Map<number, number[]>();
      const listOfSlot = new Map<number, number>();
      for (const op of ops) {
        if (op.kind === "insert") {
          if (listOfSlot.has(op.slot)) continue;
          assert.equal(buckets.listOf(op.list * GRANULE_BYTES), op.list);
          buckets.insert(op.slot, op.list);
          model.set(op.list, [op.slot, ...(model.get(op.list) ?? [])]);
          listOfSlot.set(op.slot, op.list);
        } else if (op.kind === "remove") {
          const slots = [...listOfSlot.keys()];
          if (slots.length === 0) continue;
          const slot = slots[op.pick % slots.length]!;
          const b = listOfSlot.get(slot)!;
          buckets.remove(slot, b);
          const left = model.get(b)!.filter((s) => s !== slot);
          if (left.length === 0) model.delete(b);
          else model.set(b, left);
          listOfSlot.delete(slot);
        } else {
          const fitting = [...model.keys()].filter((b) => b * GRANULE_BYTES >= op.sizeBytes);
          const want = fitting.length === 0 ? -1 : model.get(Math.min(...fitting))![0]!;
          assert.equal(buckets.smallestFitting(op.sizeBytes), want, `search for ${op.sizeBytes} B`);
        }
        assert.equal(buckets.count, listOfSlot.size);
        const largest = model.size === 0 ? 0 : Math.max(...model.keys()) * GRANULE_BYTES;
        assert.equal(buckets.largestBytes, largest);
        assert.equal(buckets.checkBitmap(), undefined);
      }
      const lists = buckets.lists();
      assert.deepEqual(
        lists,
        [...model.keys()]
          .sort((a, b) => a - b)
          .map((b) => ({ sizeBytes: b * GRANULE_BYTES, slots: model.get(b) })),
      );
    }),
    { numRuns: 300 },
  );
});

test("a size list belongs to whole granules below the limit only; other sizes go to the tree", () => {
  const buckets = new SizeBuckets(new ArrayBuffer(SizeBuckets.byteLength(4)), 0, 4, 32);
  buckets.format();
  assert.equal(buckets.listOf(32), 1);
  assert.equal(buckets.listOf(4095 * 32), 4095);
  assert.equal(buckets.limitBytes, 4096 * 32);
  assert.equal(buckets.listOf(4096 * 32), -1, "at the limit: the tree");
  assert.equal(buckets.listOf(48), -1, "not a whole number of granules: the tree");
  assert.equal(buckets.smallestFitting(1), -1, "nothing listed");
  assert.equal(buckets.smallestFitting(4096 * 32), -1, "past the last list");
  assert.equal(buckets.largestBytes, 0);
});
