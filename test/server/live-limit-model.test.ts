// Property (docs/DESIGN.md "Live-allocation limits"): for any stream of a correct client's ALLOCs and FREEs
// over several sessions and devices, with small limits, the registry never holds more than its limits; a
// (session, device) not marked over a limit holds exactly the client's live set, a marked one a subset;
// no anomaly is recorded (a FREE of a refused allocation is excused); and once the clients free what
// they hold, answering the server's snapshot requests leaves every device exact and unmarked.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { AnomalyLog } from "../../src/server/anomaly-log.js";
import { Registry, type SessionAccount } from "../../src/server/registry.js";
import { ledgerContents } from "../support/ledger-contents.js";

const SESSIONS = 3;
const DEVICES = 2;

type Op = { kind: "alloc"; s: number; d: number } | { kind: "free"; s: number; d: number; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("alloc" as const),
      s: fc.nat(SESSIONS - 1),
      d: fc.nat(DEVICES - 1),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("free" as const),
      s: fc.nat(SESSIONS - 1),
      d: fc.nat(DEVICES - 1),
      pick: fc.nat(1000),
    }),
  },
);

const limitsArb = fc
  .integer({ min: 1, max: 12 })
  .chain((maxLive) =>
    fc.record({ maxLive: fc.constant(maxLive), perSession: fc.integer({ min: 1, max: maxLive }) }),
  );

test("live-allocation limits: bounded, exact when unmarked, no false anomaly, healed by snapshots", () => {
  fc.assert(
    fc.property(limitsArb, fc.array(opArb, { maxLength: 250 }), ({ maxLive, perSession }, ops) => {
      const anomalies = new AnomalyLog(16);
      const registry = new Registry(anomalies, undefined, {
        limits: { maxLiveAllocations: maxLive, maxLiveAllocationsPerSession: perSession },
      });
      /** The clients' truth: per "s/d", allocation id → size. */
      const truth = new Map<string, Map<number, number>>();
      const nextId = new Map<string, number>();
      const asked = new Set<string>();
      const accounts: SessionAccount[] = [];
      for (let s = 0; s < SESSIONS; s++) {
        const account = registry.openAccount(`s${s}`, 100 + s);
        account.onUnderLimit = (d) => asked.add(`${s}/${d}`);
        accounts.push(account);
        for (let d = 0; d < DEVICES; d++) truth.set(`${s}/${d}`, new Map());
      }
      const ledger = (s: number, d: number) => registry.ledger(accounts[s], d);

      // What a client does on RESYNC_REQUEST: its whole live set replaces the server's (SnapshotIntake).
      const answerSnapshots = () => {
        for (let rounds = 0; asked.size > 0; rounds++) {
          assert.ok(rounds < 100, "snapshot requests do not loop");
          const [key] = asked;
          asked.delete(key);
          const [s, d] = key.split("/").map(Number);
          const l = ledger(s, d);
          registry.clearLedger(l);
          for (const [id, size] of truth.get(key)!) registry.allocate(l, 0, id, id * 4096, size, 0);
          registry.settleLedger(l);
        }
      };

      const check = () => {
        assert.ok(registry.liveAllocations <= maxLive, `${registry.liveAllocations} > ${maxLive}`);
        let marked = 0;
        for (let s = 0; s < SESSIONS; s++) {
          assert.ok(accounts[s].liveAllocations <= perSession);
          for (let d = 0; d < DEVICES; d++) {
            const l = ledger(s, d);
            const held = ledgerContents(registry, l).map((a) => [a.allocationId, a.sizeBytes] as const);
            const expected = truth.get(`${s}/${d}`)!;
            if (l.overLimit) {
              marked++;
              for (const [id, size] of held)
                assert.equal(expected.get(id), size, "a marked device holds a subset");
            } else {
              assert.deepEqual(
                held.sort((a, b) => a[0] - b[0]),
                [...expected].sort((a, b) => a[0] - b[0]),
                `s${s}/d${d} unmarked must be exact`,
              );
            }
          }
        }
        assert.equal(registry.limit.markedCount, marked);
        assert.equal(anomalies.total, 0, JSON.stringify(anomalies.recent()));
      };

      for (const op of ops) {
        const key = `${op.s}/${op.d}`;
        const live = truth.get(key)!;
        if (op.kind === "alloc") {
          const id = (nextId.get(key) ?? 0) + 1;
          nextId.set(key, id);
          live.set(id, 64 * id);
          registry.allocate(ledger(op.s, op.d), 0, id, id * 4096, 64 * id, 0);
        } else {
          if (live.size === 0) continue;
          const id = [...live.keys()][op.pick % live.size];
          live.delete(id);
          registry.free(ledger(op.s, op.d), 0, id, 64 * id);
        }
        check();
        // Snapshots arrive later than the request: answer them only now and then.
        if (op.kind === "free" && op.pick % 3 === 0) {
          answerSnapshots();
          check();
        }
      }

      // The clients free everything, answering requests as they come: every device ends exact and unmarked.
      for (let s = 0; s < SESSIONS; s++) {
        for (let d = 0; d < DEVICES; d++) {
          const live = truth.get(`${s}/${d}`)!;
          for (const id of [...live.keys()]) {
            live.delete(id);
            registry.free(ledger(s, d), 0, id, 64 * id);
            answerSnapshots();
            check();
          }
        }
      }
      answerSnapshots();
      check();
      assert.equal(registry.limit.markedCount, 0, "every device healed");
      assert.equal(registry.liveAllocations, 0);
    }),
    { numRuns: 300 },
  );
});
