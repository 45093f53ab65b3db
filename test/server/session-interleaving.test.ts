// docs/DESIGN.md invariant 2 over several connections: each connection is FIFO, but fast-check's scheduler
// interleaves the connections' deliveries arbitrarily. The session's live set per device must end exact.

import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { AnomalyLog } from "../../src/server/anomaly-log.js";
import { Registry } from "../../src/server/registry.js";
import { ReorderBudget } from "../../src/server/reorder-budget.js";
import { SequencerCounters } from "../../src/server/sequencer.js";
import { Session, type SessionPeer } from "../../src/server/session.js";
import { ManualTimers } from "../../src/server/timers.js";
import { ledgerContents } from "../support/ledger-contents.js";
import { TEST_DEVICE } from "./raw-client.js";
import { liveAfter, type StreamEvent, sortById, streamArb } from "./sequencer-harness.js";

const CONNECTIONS = 3;

function peer(id: number): SessionPeer {
  return { id, requestResync: () => {}, close: () => {} };
}

test("events of two devices spread over three FIFO connections, any interleaving, end exact", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.scheduler(),
      streamArb(2, 200),
      fc.array(fc.nat(CONNECTIONS - 1), { minLength: 200, maxLength: 200 }),
      fc.integer({ min: 1, max: 8 }),
      async (s, events, routes, batchSize) => {
        const anomalies = new AnomalyLog(16);
        const registry = new Registry(anomalies);
        const session = new Session(
          { sessionId: "b".repeat(32), pid: 1, processStartTicks: 0, processName: "p", source: "native" },
          {
            registry,
            anomalies,
            counters: new SequencerCounters(),
            timers: new ManualTimers(),
            sequencerOptions: { reorderCapacity: 256, gapTimeoutMs: 100, maxSnapshotAllocations: 1000 },
            reorderBudget: new ReorderBudget(),
          },
        );
        session.announce([0, 1].map((deviceId) => ({ ...TEST_DEVICE, deviceId })));
        const peers = Array.from({ length: CONNECTIONS }, (_, i) => peer(i + 1));
        for (const p of peers) session.attach(p);

        // The client batches events in emission order; each batch goes to one connection.
        const queues: StreamEvent[][][] = peers.map(() => []);
        for (let i = 0, b = 0; i < events.length; i += batchSize, b++) {
          queues[routes[b % routes.length]].push(events.slice(i, i + batchSize));
        }
        const deliveries = queues.map(async (batches, c) => {
          for (const batch of batches) {
            await s.schedule(Promise.resolve(), `connection ${c + 1}`);
            for (const e of batch) {
              session.event(
                peers[c],
                e.op,
                e.deviceId,
                e.memoryType,
                e.seq,
                e.allocationId,
                e.address,
                e.sizeBytes,
              );
            }
          }
        });
        await s.waitFor(Promise.all(deliveries));

        for (const deviceId of [0, 1]) {
          const ledger = session.account.ledgers.get(deviceId);
          const live = ledger === undefined ? [] : sortById(ledgerContents(registry, ledger));
          assert.deepEqual(live, liveAfter(events, deviceId));
        }
        assert.equal(anomalies.total, 0);
      },
    ),
    { numRuns: 150 },
  );
});
