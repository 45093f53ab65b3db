// Properties of the sequencer's reorder ring alone, against a Map model: held events come back whole
// and in seq order, across growth (from 64 slots, doubling as events wait), seqs far above 2^32 and
// window moves; an event at or beyond base + limit is refused as OVERFLOW and never stored; the storage
// follows the events held (never the distance between seqs), comes from the reorder budget, and is
// given back once a grown ring empties.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ReorderBudget } from "../../src/server/reorder-budget.js";
import {
  INITIAL_RING_SLOTS,
  KEPT_RING_SLOTS,
  ReorderRing,
  RING_SLOT_BYTES,
  RingPut,
} from "../../src/server/reorder-ring.js";

interface Held {
  op: number;
  memoryType: number;
  seq: number;
  allocationId: number;
  address: number;
  sizeBytes: number;
}

// Small limits wrap often; 4096 grows past the initial 1024 slots; 32768 grows far enough to be given back.
const limitArb = fc.constantFrom(1, 8, 64, 4096, 32768);
// First seq of the window: small, around the int32/uint32 edges of `seq & mask`, and near 2^53.
const baseArb = fc.oneof(
  fc.integer({ min: 1, max: 100 }),
  fc.integer({ min: 2 ** 31 - 40, max: 2 ** 31 + 40 }),
  fc.integer({ min: 2 ** 32 - 40, max: 2 ** 32 + 40 }),
  fc.integer({ min: 2 ** 53 - 2 ** 30, max: 2 ** 53 - 2 ** 29 }),
);

function fieldsArb(): fc.Arbitrary<Omit<Held, "seq">> {
  return fc.record({
    op: fc.constantFrom(1, 2),
    memoryType: fc.nat(6),
    allocationId: fc.nat(Number.MAX_SAFE_INTEGER),
    address: fc.nat(Number.MAX_SAFE_INTEGER),
    sizeBytes: fc.nat(Number.MAX_SAFE_INTEGER),
  });
}

function put(ring: ReorderRing, e: Held, base: number): RingPut {
  return ring.put(e.op, e.memoryType, e.seq, e.allocationId, e.address, e.sizeBytes, base);
}

/** Removes and returns the event with `seq`, or undefined when it is not waiting. */
function take(ring: ReorderRing, seq: number): Held | undefined {
  const slot = ring.slotOf(seq);
  if (slot < 0) return undefined;
  const e = {
    op: ring.opAt(slot),
    memoryType: ring.memoryTypeAt(slot),
    seq,
    allocationId: ring.allocationIdAt(slot),
    address: ring.addressAt(slot),
    sizeBytes: ring.sizeBytesAt(slot),
  };
  ring.remove(slot);
  return e;
}

/** Storage follows the most events held at once (at most 4 slots each), whatever their seqs. */
function assertBounded(ring: ReorderRing, mostHeld: number): void {
  const slots = ring.allocatedSlots;
  const bound = Math.max(INITIAL_RING_SLOTS, 4 * mostHeld);
  assert.ok(slots <= bound, `${slots} slots allocated for at most ${mostHeld} events held`);
  assert.ok(slots === 0 || (slots & (slots - 1)) === 0, `${slots} slots is not a power of two`);
}

test("events put in any order inside the window come out whole and in seq order", () => {
  fc.assert(
    fc.property(
      limitArb,
      baseArb,
      fc.uniqueArray(fc.tuple(fc.nat(), fieldsArb()), { maxLength: 300, selector: ([offset]) => offset }),
      (limit, base, entries) => {
        const ring = new ReorderRing(limit);
        const expected = new Map<number, Held>();
        for (const [offset, fields] of entries) {
          const e = { ...fields, seq: base + (offset % limit) };
          const result = put(ring, e, base);
          if (expected.has(e.seq)) assert.equal(result, RingPut.OCCUPIED);
          else {
            assert.equal(result, RingPut.HELD);
            expected.set(e.seq, e);
          }
          assertBounded(ring, expected.size);
        }
        assert.equal(ring.size, expected.size);
        const out: Held[] = [];
        for (let seq = base; seq < base + limit && ring.size > 0; seq++) {
          const e = take(ring, seq);
          if (e !== undefined) out.push(e);
        }
        assert.deepEqual(
          out,
          [...expected.values()].sort((a, b) => a.seq - b.seq),
        );
        assert.equal(ring.size, 0);
      },
    ),
    { numRuns: 300 },
  );
});

test("an event at or beyond base + limit is reported as OVERFLOW and not stored", () => {
  fc.assert(
    fc.property(limitArb, baseArb, fc.nat(10_000), fieldsArb(), (limit, base, beyond, fields) => {
      const ring = new ReorderRing(limit);
      put(ring, { ...fields, seq: base + limit - 1 }, base);
      const e = { ...fields, seq: base + limit + beyond };
      assert.equal(put(ring, e, base), RingPut.OVERFLOW);
      assert.equal(ring.size, 1);
      assert.equal(ring.slotOf(e.seq), -1);
      assertBounded(ring, 1);
      // The refusal depends on the window: the same seq fits once the base has moved up to it.
      assert.ok(take(ring, base + limit - 1) !== undefined);
      assert.equal(put(ring, e, e.seq), RingPut.HELD);
    }),
    { numRuns: 300 },
  );
});

type Command =
  | { kind: "put"; offset: number; fields: Omit<Held, "seq"> }
  | { kind: "drain" }
  | { kind: "discard"; count: number }
  | { kind: "clear" };

const commandArb = (limit: number): fc.Arbitrary<Command> =>
  fc.oneof(
    {
      weight: 12,
      arbitrary: fc.record({
        kind: fc.constant("put" as const),
        // Mostly inside the window, sometimes at or beyond its end.
        offset: fc.nat(limit + (limit >> 2)),
        fields: fieldsArb(),
      }),
    },
    { weight: 2, arbitrary: fc.constant({ kind: "drain" as const }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("discard" as const), count: fc.nat(limit + 8) }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: "clear" as const }) },
  );

test("under any mix of puts, drains, window moves and clears the ring matches a Map model", () => {
  fc.assert(
    fc.property(
      limitArb.chain((limit) =>
        fc.tuple(fc.constant(limit), baseArb, fc.array(commandArb(limit), { maxLength: 200 })),
      ),
      ([limit, start, commands]) => {
        const ring = new ReorderRing(limit);
        const model = new Map<number, Held>();
        let base = start;
        let mostHeld = 0;
        for (const c of commands) {
          if (c.kind === "put") {
            const e = { ...c.fields, seq: base + c.offset };
            const expected =
              c.offset >= limit ? RingPut.OVERFLOW : model.has(e.seq) ? RingPut.OCCUPIED : RingPut.HELD;
            assert.equal(put(ring, e, base), expected);
            if (expected === RingPut.HELD) model.set(e.seq, e);
          } else if (c.kind === "drain") {
            // As the sequencer does: apply from the base while contiguous, then give back grown storage.
            for (let e = take(ring, base); e !== undefined; e = take(ring, base)) {
              assert.deepEqual(e, model.get(base));
              model.delete(base);
              base++;
            }
            assert.equal(model.has(base), false);
            if (ring.size === 0) {
              ring.releaseIfGrown();
              assert.ok(ring.allocatedSlots <= KEPT_RING_SLOTS);
            }
          } else if (c.kind === "discard") {
            // As a snapshot does: everything up to its watermark is covered, the window starts after it.
            const to = base + c.count - 1;
            let covered = 0;
            for (const seq of model.keys()) {
              if (seq <= to) {
                model.delete(seq);
                covered++;
              }
            }
            assert.equal(ring.discard(base, to), covered);
            base = to + 1;
          } else {
            ring.clear();
            model.clear();
          }
          assert.equal(ring.size, model.size);
          mostHeld = Math.max(mostHeld, model.size);
          assertBounded(ring, mostHeld);
        }
        for (const [seq, e] of model) assert.deepEqual(take(ring, seq), e);
        assert.equal(ring.size, 0);
      },
    ),
    { numRuns: 200 },
  );
});

test("storage follows the events waiting, never their distance, and is given back once grown", () => {
  const budget = new ReorderBudget(Number.POSITIVE_INFINITY);
  const ring = new ReorderRing(1 << 20, budget);
  assert.equal(ring.allocatedSlots, 0);
  ring.put(1, 0, 2, 2, 0, 1, 1);
  assert.equal(ring.allocatedSlots, INITIAL_RING_SLOTS);
  // Far ahead inside the window: one more slot's worth, not a ring as wide as the distance.
  assert.equal(ring.put(1, 0, 1 + 1_000_000, 3, 0, 1, 1), RingPut.HELD);
  assert.equal(ring.allocatedSlots, INITIAL_RING_SLOTS);
  assert.equal(budget.usedBytes, INITIAL_RING_SLOTS * RING_SLOT_BYTES);
  // A lag of 10,000 consecutive events doubles the table as they come: at most 4 slots per event.
  for (let seq = 3; seq < 10_003; seq++) ring.put(1, 0, seq, seq, 0, 1, 1);
  assert.equal(ring.size, 10_002);
  assert.ok(ring.allocatedSlots <= 4 * ring.size);
  assert.equal(budget.usedBytes, ring.byteLength);
  ring.releaseIfGrown();
  assert.ok(ring.allocatedSlots > 0, "not while events wait");
  assert.equal(ring.discard(1, 1_000_001), 10_002);
  ring.releaseIfGrown();
  assert.equal(ring.allocatedSlots, 0);
  assert.equal(budget.usedBytes, 0, "every byte given back to the budget");
  assert.equal(ring.put(1, 0, 5, 5, 0, 1, 1), RingPut.HELD);
  assert.equal(ring.allocatedSlots, INITIAL_RING_SLOTS);
  ring.release();
  assert.equal(budget.usedBytes, 0);
});

test("a ring the budget cannot grow refuses the event (OVER_BUDGET) and keeps what it holds", () => {
  const budget = new ReorderBudget(INITIAL_RING_SLOTS * RING_SLOT_BYTES);
  const a = new ReorderRing(1 << 16, budget);
  const b = new ReorderRing(1 << 16, budget);
  for (let seq = 2; seq < 2 + INITIAL_RING_SLOTS / 2; seq++)
    assert.equal(a.put(1, 0, seq, seq, 0, 1, 1), RingPut.HELD);
  // a is half full: one more needs a bigger table, which the budget cannot pay for.
  assert.equal(a.put(1, 0, 1000, 1000, 0, 1, 1), RingPut.OVER_BUDGET);
  assert.equal(a.size, INITIAL_RING_SLOTS / 2);
  assert.equal(a.slotOf(1000), -1);
  // b cannot even start.
  assert.equal(b.put(1, 0, 2, 2, 0, 1, 1), RingPut.OVER_BUDGET);
  assert.equal(b.allocatedSlots, 0);
  // Once a gives its storage back, b can.
  a.release();
  assert.equal(budget.usedBytes, 0);
  assert.equal(b.put(1, 0, 2, 2, 0, 1, 1), RingPut.HELD);
  assert.equal(budget.usedBytes, INITIAL_RING_SLOTS * RING_SLOT_BYTES);
});
