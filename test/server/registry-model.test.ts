// Property: for any stream of allocs and frees (valid or not) over several sessions and devices, the
// registry's totals, peaks, counts and anomaly counters equal those of a naive model.

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { AnomalyLog } from "../../src/server/anomaly-log.js";
import { listAllocations } from "../../src/server/queries.js";
import { Registry, type SessionAccount } from "../../src/server/registry.js";
import { ledgerContents } from "../support/ledger-contents.js";

const SESSIONS = 3;
const DEVICES = 2;
const TYPES = 7;

type Op =
  | { kind: "alloc"; s: number; d: number; id: number; type: number; address: number; size: number }
  | { kind: "free"; s: number; d: number; id: number; type: number; size: number; exact: boolean }
  | { kind: "release"; s: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("alloc" as const),
      s: fc.nat(SESSIONS - 1),
      d: fc.nat(DEVICES - 1),
      id: fc.integer({ min: 1, max: 25 }),
      type: fc.nat(TYPES - 1),
      address: fc.constantFrom(0, 4096, 8192, 2 ** 40, 2 ** 52),
      size: fc.oneof(fc.integer({ min: 1, max: 1 << 20 }), fc.constant(2 ** 45)),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("free" as const),
      s: fc.nat(SESSIONS - 1),
      d: fc.nat(DEVICES - 1),
      id: fc.integer({ min: 1, max: 25 }),
      type: fc.nat(TYPES - 1),
      size: fc.integer({ min: 1, max: 1 << 20 }),
      exact: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("release" as const), s: fc.nat(SESSIONS - 1) }) },
);

interface Live {
  type: number;
  address: number;
  size: number;
}

test("registry totals, peaks and anomaly counts match a naive model", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
      const anomalies = new AnomalyLog(16);
      const registry = new Registry(anomalies);
      const accounts: SessionAccount[] = [];
      for (let s = 0; s < SESSIONS; s++) accounts.push(registry.openAccount(`s${s}`, 100 + s));
      const model = new Map<string, Live>(); // "s/d/id"
      const peaks = new Float64Array(DEVICES * TYPES);
      const expected = { DUPLICATE_ALLOCATION: 0, UNKNOWN_FREE: 0, FREE_MISMATCH: 0, ADDRESS_OVERLAP: 0 };
      const usedOf = (d: number, t: number) => {
        let sum = 0;
        for (const [key, live] of model)
          if (Number(key.split("/")[1]) === d && live.type === t) sum += live.size;
        return sum;
      };

      for (const op of ops) {
        if (op.kind === "release") {
          registry.releaseAccount(accounts[op.s]);
          for (const key of [...model.keys()]) if (key.startsWith(`${op.s}/`)) model.delete(key);
          accounts[op.s] = registry.openAccount(`s${op.s}`, 100 + op.s);
          continue;
        }
        const ledger = registry.ledger(accounts[op.s], op.d);
        const key = `${op.s}/${op.d}/${op.id}`;
        if (op.kind === "alloc") {
          if (model.has(key)) {
            expected.DUPLICATE_ALLOCATION++;
            assert.equal(registry.allocate(ledger, op.type, op.id, op.address, op.size, 0), false);
            continue;
          }
          for (const [k, live] of model) {
            if (k.startsWith(`${op.s}/${op.d}/`) && live.type === op.type && live.address === op.address) {
              expected.ADDRESS_OVERLAP++;
              break;
            }
          }
          assert.equal(registry.allocate(ledger, op.type, op.id, op.address, op.size, 0), true);
          model.set(key, { type: op.type, address: op.address, size: op.size });
          const used = usedOf(op.d, op.type);
          peaks[op.d * TYPES + op.type] = Math.max(peaks[op.d * TYPES + op.type], used);
        } else {
          const live = model.get(key);
          const type = op.exact && live ? live.type : op.type;
          const size = op.exact && live ? live.size : op.size;
          if (live === undefined) expected.UNKNOWN_FREE++;
          else if (live.type !== type || live.size !== size) expected.FREE_MISMATCH++;
          assert.equal(registry.free(ledger, type, op.id, size), live !== undefined);
          model.delete(key);
        }
      }

      assert.equal(registry.liveAllocations, model.size);
      for (let d = 0; d < DEVICES; d++) {
        const device = registry.device(d);
        let deviceCount = 0;
        for (let t = 0; t < TYPES; t++) {
          assert.equal(device.usedBytes[t], usedOf(d, t), `device ${d} type ${t} used`);
          assert.equal(device.peakBytes[t], peaks[d * TYPES + t], `device ${d} type ${t} peak`);
          let count = 0;
          for (const [k, live] of model) if (Number(k.split("/")[1]) === d && live.type === t) count++;
          assert.equal(device.allocations[t], count);
          deviceCount += count;
        }
        assert.equal(device.liveAllocations, deviceCount);
        assert.equal(listAllocations(registry, d, "size", 10_000, 0).total, deviceCount);
      }
      for (let s = 0; s < SESSIONS; s++) {
        for (const [d, ledger] of accounts[s].ledgers) {
          for (let t = 0; t < TYPES; t++) {
            let sum = 0;
            for (const [k, live] of model)
              if (k.startsWith(`${s}/${d}/`) && live.type === t) sum += live.size;
            assert.equal(ledger.usedBytes[t], sum);
          }
          const contents = ledgerContents(registry, ledger).sort((a, b) => a.allocationId - b.allocationId);
          const fromModel = [...model]
            .filter(([k]) => k.startsWith(`${s}/${d}/`))
            .map(([k, live]) => ({
              allocationId: Number(k.split("/")[2]),
              memoryType: live.type,
              address: live.address,
              sizeBytes: live.size,
            }))
            .sort((a, b) => a.allocationId - b.allocationId);
          assert.deepEqual(contents, fromModel);
        }
      }
      for (const [kind, n] of Object.entries(expected)) {
        assert.equal(anomalies.count(kind as never), n, kind);
      }
      assert.equal(
        anomalies.total,
        Object.values(expected).reduce((a, b) => a + b, 0),
      );
    }),
    { numRuns: 200 },
  );
});
