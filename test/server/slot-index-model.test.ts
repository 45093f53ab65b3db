// Property: the registry's open-addressing hash table (SlotIndex) behaves exactly like a Map under any
// sequence of inserts, overwrites, deletes, lookups and clears: across growth, shrinking, probe runs that
// wrap around the end of the bucket array, and endless delete/insert churn (deletion shifts entries back
// instead of leaving tombstones, so churn must neither break lookups nor grow the table).
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { NO_SLOT, SlotIndex } from "../../src/server/slot-index.js";

// Keys that collide and cluster: small ids, aligned addresses (low bits zero), keys whose low 32-bit
// word is zero (only the high word differs), and values next to 2^53.
const keyArb = fc.oneof(
  fc.integer({ min: 0, max: 40 }),
  fc.integer({ min: 0, max: 40 }).map((k) => k * 4096),
  fc.integer({ min: 0, max: 40 }).map((k) => k * 2 ** 32),
  fc.integer({ min: 0, max: 40 }).map((k) => Number.MAX_SAFE_INTEGER - k),
);

type Op =
  | { kind: "set"; key: number; slot: number }
  | { kind: "insertIfAbsent"; key: number; slot: number }
  | { kind: "delete"; key: number }
  | { kind: "get"; key: number }
  | { kind: "clear" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("set" as const), key: keyArb, slot: fc.nat(1 << 30) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("insertIfAbsent" as const),
      key: keyArb,
      slot: fc.nat(1 << 30),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("delete" as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("get" as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: "clear" as const }) },
);

/** Every stored slot, found by walking the buckets (what the registry's listings do). */
function walkedSlots(index: SlotIndex): number[] {
  const out: number[] = [];
  for (let b = 0; b < index.bucketCount; b++) {
    const slot = index.slotAt(b);
    if (slot !== NO_SLOT) out.push(slot);
  }
  return out.sort((a, b) => a - b);
}

function assertSame(index: SlotIndex, model: Map<number, number>): void {
  assert.equal(index.size, model.size);
  for (const [key, slot] of model) assert.equal(index.get(key), slot, `key ${key}`);
  assert.deepEqual(
    walkedSlots(index),
    [...model.values()].sort((a, b) => a - b),
  );
}

test("SlotIndex matches a Map model under arbitrary operations", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 400 }), (ops) => {
      const index = new SlotIndex();
      const model = new Map<number, number>();
      for (const op of ops) {
        switch (op.kind) {
          case "set":
            assert.equal(index.set(op.key, op.slot), model.get(op.key) ?? NO_SLOT);
            model.set(op.key, op.slot);
            break;
          case "insertIfAbsent": {
            const existing = model.get(op.key);
            assert.equal(index.insertIfAbsent(op.key, op.slot), existing ?? NO_SLOT);
            if (existing === undefined) model.set(op.key, op.slot);
            break;
          }
          case "delete":
            assert.equal(index.delete(op.key), model.get(op.key) ?? NO_SLOT);
            model.delete(op.key);
            break;
          case "get":
            assert.equal(index.get(op.key), model.get(op.key) ?? NO_SLOT);
            assert.equal(index.has(op.key), model.has(op.key));
            break;
          case "clear":
            index.clear();
            model.clear();
            break;
        }
        assert.equal(index.size, model.size);
      }
      assertSame(index, model);
    }),
    { numRuns: 300 },
  );
});

test("SlotIndex grows and shrinks with its contents and keeps every key", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 100, max: 3000 }),
      fc.integer({ min: 1, max: 97 }),
      fc.nat(2 ** 40),
      (count, stride, base) => {
        const index = new SlotIndex();
        const model = new Map<number, number>();
        for (let i = 0; i < count; i++) {
          const key = base + i * stride * 64;
          index.set(key, i);
          model.set(key, i);
        }
        assertSame(index, model);
        // Never more than 5/8 full after growing.
        assert.ok(index.size <= (index.bucketCount * 5) / 8, `${index.size} in ${index.bucketCount}`);
        const grown = index.bucketCount;
        // Delete all but a few: the table gives memory back and still finds the rest.
        let i = 0;
        for (const key of [...model.keys()]) {
          if (i++ % 50 === 0) continue;
          assert.equal(index.delete(key), model.get(key));
          model.delete(key);
        }
        assertSame(index, model);
        assert.ok(index.bucketCount < grown, `still ${index.bucketCount} buckets after deletes`);
      },
    ),
    { numRuns: 40 },
  );
});

test("SlotIndex under FIFO churn: lookups stay exact and the table does not grow", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 9 }), fc.constantFrom(1, 8, 4096, 2 ** 32), (live, stride) => {
      // At most 9 live keys in 16 buckets: runs wrap around the end of the array all the time.
      const index = new SlotIndex();
      const model = new Map<number, number>();
      let next = 0;
      for (; next < live; next++) {
        index.set(next * stride, next);
        model.set(next * stride, next);
      }
      const buckets = index.bucketCount;
      for (let round = 0; round < 2000; round++, next++) {
        const oldest = (next - live) * stride;
        assert.equal(index.delete(oldest), next - live);
        model.delete(oldest);
        assert.equal(index.insertIfAbsent(next * stride, next), NO_SLOT);
        model.set(next * stride, next);
        assert.equal(index.get(oldest), NO_SLOT);
        if (round % 97 === 0) assertSame(index, model);
      }
      assertSame(index, model);
      assert.equal(index.bucketCount, buckets);
    }),
    { numRuns: 30 },
  );
});
