// Property: the registry's chained hash table (SlotChains, links in a per-slot column) behaves like a
// multimap model (key → its slots, newest first) under any sequence of inserts, deletes of a chosen
// slot, lookups and clears: across growth (each chain split in order), shrinking (chains appended) and
// churn. The first slot met for a key must be the one inserted last: the registry's ADDRESS_OVERLAP
// names it.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { addressHash, idHash, SlotChains } from "../../src/server/slot-chains.js";
import { NO_SLOT } from "../../src/server/slot-index.js";

const SLOTS = 2048;

// Keys that collide and cluster: small ids, aligned addresses (low bits zero), keys whose low 32-bit
// word is zero (only the high word differs), and values next to 2^53.
const keyArb = fc.oneof(
  fc.integer({ min: 0, max: 40 }),
  fc.integer({ min: 0, max: 40 }).map((k) => k * 4096),
  fc.integer({ min: 0, max: 40 }).map((k) => k * 2 ** 32),
  fc.integer({ min: 0, max: 40 }).map((k) => Number.MAX_SAFE_INTEGER - k),
);

type Op =
  | { kind: "insert"; key: number; times: number }
  | { kind: "delete"; key: number; pick: number; times: number }
  | { kind: "clear" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  // `times` > 1 moves the count across several doublings / halvings within one short sequence.
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("insert" as const),
      key: keyArb,
      times: fc.integer({ min: 1, max: 60 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("delete" as const),
      key: keyArb,
      pick: fc.nat(),
      times: fc.integer({ min: 1, max: 60 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "clear" as const }) },
);

/** A table with its link and key columns and a free list of slots, as the registry keeps them. */
class Harness {
  readonly chains: SlotChains;
  readonly links = new Int32Array(SLOTS).fill(NO_SLOT);
  readonly keys = new Float64Array(SLOTS);
  private readonly free: number[] = [];

  constructor(
    private readonly hash: (key: number) => number,
    readonly loadShift = 0,
  ) {
    this.chains = new SlotChains(loadShift);
    for (let slot = SLOTS - 1; slot >= 0; slot--) this.free.push(slot);
  }

  insert(key: number): number {
    const slot = this.free.pop()!;
    this.keys[slot] = key;
    this.chains.push(this.links, this.hash(key) & this.chains.mask, slot, (s) => this.hash(this.keys[s]));
    return slot;
  }

  remove(slot: number): void {
    this.chains.remove(this.links, this.hash(this.keys[slot]) & this.chains.mask, slot);
    this.free.push(slot);
  }

  /** Slots of `key` in chain order. */
  find(key: number): number[] {
    const out: number[] = [];
    for (let s = this.chains.heads[this.hash(key) & this.chains.mask]; s !== NO_SLOT; s = this.links[s]) {
      if (this.keys[s] === key) out.push(s);
    }
    return out;
  }

  clear(model: Map<number, number[]>): void {
    this.chains.clear();
    for (const slots of model.values()) for (const slot of slots) this.free.push(slot);
  }

  /** Every slot on any chain, each must be reached once. */
  walk(): number[] {
    const out: number[] = [];
    for (const head of this.chains.heads) for (let s = head; s !== NO_SLOT; s = this.links[s]) out.push(s);
    return out.sort((a, b) => a - b);
  }
}

function check(harness: Harness, model: Map<number, number[]>): void {
  let count = 0;
  for (const [key, slots] of model) {
    assert.deepEqual(harness.find(key), slots, `key ${key}: slots newest first`);
    count += slots.length;
  }
  assert.equal(harness.chains.count, count);
  assert.deepEqual(
    harness.walk(),
    [...model.values()].flat().sort((a, b) => a - b),
  );
  const buckets = harness.chains.bucketCount;
  const most = buckets / 2 ** harness.loadShift;
  assert.ok(count <= most, `${count} slots in ${buckets} buckets: over the load limit`);
  assert.ok(buckets === 16 || count >= most / 4, `${count} slots kept ${buckets} buckets`);
}

for (const [name, hash, loadShift] of [
  ["idHash, at most one slot per two buckets", idHash, 1],
  ["addressHash", (key: number) => addressHash(key, 3), 0],
  // Every key in one bucket: chains as long as the table, order kept through every resize.
  ["a constant hash", () => 0, 0],
  ["a constant hash, at most one slot per two buckets", () => 0, 1],
] as const) {
  test(`SlotChains (${name}) matches a newest-first multimap model under arbitrary operations`, () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const harness = new Harness(hash, loadShift);
        const model = new Map<number, number[]>();
        let live = 0;
        for (const op of ops) {
          if (op.kind === "clear") {
            harness.clear(model);
            model.clear();
            live = 0;
          } else if (op.kind === "insert") {
            for (let i = 0; i < op.times && live < SLOTS; i++, live++) {
              const slot = harness.insert(op.key);
              model.set(op.key, [slot, ...(model.get(op.key) ?? [])]);
            }
          } else {
            // Delete slots of the key (any position in its chain), else of whichever key has some.
            for (let i = 0; i < op.times && live > 0; i++, live--) {
              const key = model.has(op.key) ? op.key : [...model.keys()][op.pick % model.size];
              const slots = model.get(key)!;
              const [slot] = slots.splice((op.pick + i) % slots.length, 1);
              if (slots.length === 0) model.delete(key);
              harness.remove(slot);
            }
          }
          check(harness, model);
        }
      }),
      { numRuns: 150 },
    );
  });
}

test("SlotChains grows to one bucket per slot (two with loadShift 1) and gives the buckets back when emptied", () => {
  const harness = new Harness(idHash);
  const slots: number[] = [];
  for (let id = 0; id < SLOTS; id++) slots.push(harness.insert(id * 2 ** 20));
  assert.equal(harness.chains.bucketCount, SLOTS);
  assert.equal(harness.chains.byteLength, SLOTS * 4);
  for (let id = 0; id < SLOTS; id++) assert.deepEqual(harness.find(id * 2 ** 20), [slots[id]]);
  for (const slot of slots) harness.remove(slot);
  assert.equal(harness.chains.count, 0);
  assert.equal(harness.chains.bucketCount, 16);
  const sparse = new Harness(idHash, 1);
  for (let id = 0; id < SLOTS; id++) sparse.insert(id);
  assert.equal(sparse.chains.bucketCount, SLOTS * 2);
});
