// Property: the registry's anomaly semantics, event by event, against a naive model: which anomaly each
// ALLOC/FREE records, and for ADDRESS_OVERLAP which live allocation it names (the newest live one at that
// ledger, type and address), through index growth and shrinking (runs of allocations and frees) and
// sessions released. Also: allocation times read back in whole ms, relative to the latest time seen.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { AnomalyLog, type AnomalyRecord } from "../../src/server/anomaly-log.js";
import { LiveSlotCursor } from "../../src/server/live-slot-cursor.js";
import { Registry, type SessionAccount } from "../../src/server/registry.js";
import { NO_SLOT } from "../../src/server/slot-index.js";
import { ledgerContents } from "../support/ledger-contents.js";

const SESSIONS = 2;
const TYPES = 3;
const ADDRESSES = [0, 4096, 2 ** 32, 2 ** 52 + 8] as const;
/** Times near a wall-clock value, within 2^31 ms of each other (exact by the registry's rule). */
const T0 = 1.7e12;

type Op =
  | { kind: "alloc"; s: number; id: number; type: number; a: number; size: number; n: number; at: number }
  | { kind: "free"; s: number; id: number; type: number; n: number; exact: boolean }
  | { kind: "release"; s: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("alloc" as const),
      s: fc.nat(SESSIONS - 1),
      id: fc.integer({ min: 1, max: 200 }),
      type: fc.nat(TYPES - 1),
      a: fc.nat(ADDRESSES.length - 1),
      size: fc.integer({ min: 0, max: 3 }),
      // A run of n ids from `id` (the indexes grow past their minimum size).
      n: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 80 })),
      at: fc.double({ min: 0, max: 2 ** 31, noNaN: true }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("free" as const),
      s: fc.nat(SESSIONS - 1),
      id: fc.integer({ min: 1, max: 200 }),
      type: fc.nat(TYPES - 1),
      n: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 80 })),
      exact: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("release" as const), s: fc.nat(SESSIONS - 1) }) },
);

interface Live {
  id: number;
  type: number;
  address: number;
  size: number;
  atMs: number;
}

test("each ALLOC/FREE records the model's anomaly; ADDRESS_OVERLAP names the newest live allocation there", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      const anomalies = new AnomalyLog(16);
      const recorded: AnomalyRecord[] = [];
      anomalies.onRecord((record) => recorded.push(record));
      const registry = new Registry(anomalies);
      const accounts: SessionAccount[] = [];
      for (let s = 0; s < SESSIONS; s++) accounts.push(registry.openAccount(`s${s}`, 100 + s));
      // Per session: live allocations in allocation order (oldest first).
      const model: Live[][] = Array.from({ length: SESSIONS }, () => []);

      for (const op of ops) {
        if (op.kind === "release") {
          registry.releaseAccount(accounts[op.s]);
          accounts[op.s] = registry.openAccount(`s${op.s}`, 100 + op.s);
          model[op.s] = [];
          continue;
        }
        const ledger = registry.ledger(accounts[op.s], 0);
        const live = model[op.s];
        for (let id = op.id; id < op.id + op.n; id++) {
          recorded.length = 0;
          const index = live.findIndex((l) => l.id === id);
          const expected: string[] = [];
          if (op.kind === "alloc") {
            const address: number = ADDRESSES[op.a];
            const atMs: number = T0 + op.at;
            let applied = true;
            if (index >= 0) {
              expected.push("DUPLICATE_ALLOCATION");
              applied = false;
            } else {
              if (op.size === 0) expected.push("ZERO_SIZE_ALLOCATION");
              for (let j = live.length - 1; j >= 0; j--) {
                if (live[j].type === op.type && live[j].address === address) {
                  expected.push(`ADDRESS_OVERLAP ${live[j].id}`);
                  break;
                }
              }
              live.push({ id, type: op.type, address, size: op.size, atMs: Math.floor(atMs) });
            }
            assert.equal(registry.allocate(ledger, op.type, id, address, op.size, atMs), applied);
          } else {
            const stored = index >= 0 ? live[index] : undefined;
            const type: number = op.exact && stored ? stored.type : op.type;
            const size: number = op.exact && stored ? stored.size : -1;
            if (stored === undefined) expected.push("UNKNOWN_FREE");
            else if (stored.type !== type) expected.push("FREE_MISMATCH");
            if (stored) live.splice(index, 1);
            assert.equal(registry.free(ledger, type, id, size), stored !== undefined);
          }
          const got = recorded.map((r) =>
            r.kind === "ADDRESS_OVERLAP"
              ? `${r.kind} ${/where live allocation (\d+) starts$/.exec(r.detail)?.[1]}`
              : r.kind,
          );
          assert.deepEqual(got, expected, `${op.kind} ${id}`);
        }
      }
      for (let s = 0; s < SESSIONS; s++) {
        const ledger = registry.ledger(accounts[s], 0);
        assert.equal(ledger.liveAllocations, model[s].length);
        const contents = ledgerContents(registry, ledger).sort((a, b) => a.allocationId - b.allocationId);
        const expected = [...model[s]].sort((a, b) => a.id - b.id);
        assert.deepEqual(
          contents.map((c) => [c.allocationId, c.memoryType, c.address, c.sizeBytes]),
          expected.map((l) => [l.id, l.type, l.address, l.size]),
        );
        for (const l of expected) assert.ok(registry.has(ledger, l.id), `${l.id} live`);
        const cursor = new LiveSlotCursor(registry, ledger);
        const atById = new Map<number, number>();
        for (let slot = cursor.next(); slot !== NO_SLOT; slot = cursor.next()) {
          atById.set(registry.allocationIdAt(slot), registry.allocatedAtMsAt(slot));
        }
        for (const l of expected) assert.equal(atById.get(l.id), l.atMs, `allocation ${l.id}'s time`);
      }
    }),
    { numRuns: 200 },
  );
});

test("allocation times read back in whole ms; past 2^32 ms an allocation's age wraps (documented)", () => {
  const registry = new Registry(new AnomalyLog());
  const ledger = registry.ledger(registry.openAccount("a".repeat(32), 1), 0);
  const times = [T0 + 0.75, T0 + 2 ** 31, T0 - 5, T0 + 2 ** 32 - 1];
  for (const [i, at] of times.entries()) registry.allocate(ledger, 0, i + 1, i * 64, 64, at);
  assert.equal(ledger.liveAllocations, 4);
  const atMs = (id: number) => {
    for (let slot = 0; slot < registry.slotCapacity; slot++) {
      if (registry.allocationIdAt(slot) === id) return registry.allocatedAtMsAt(slot);
    }
    throw new Error(`no slot for ${id}`);
  };
  // The latest time seen is T0 + 2^32 − 1: everything within 2^32 ms before it is exact.
  assert.equal(atMs(1), Math.floor(T0 + 0.75));
  assert.equal(atMs(2), T0 + 2 ** 31);
  assert.equal(atMs(4), T0 + 2 ** 32 - 1);
  // T0 − 5 is 2^32 + 4 ms before the latest: it reads 2^32 ms later than it was.
  assert.equal(atMs(3), T0 - 5 + 2 ** 32);
});
