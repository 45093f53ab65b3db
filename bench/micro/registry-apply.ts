import { AnomalyLog } from "../../src/server/anomaly-log.js";
import { Registry } from "../../src/server/registry.js";
import { UsageSeries } from "../../src/server/series/usage-series.js";
import { systemTimers } from "../../src/server/timers.js";
import type { Benchmark } from "../harness/benchmark.js";

const LIVE = 100_000;
const SIZE_BYTES = 4096;
const DRAM = 0;

/**
 * Registry.allocate + Registry.free alone (no socket, no decoding, no sequencer): the server's apply
 * step for the ingest benchmark's workload, 100k live on one ledger, FREE oldest / ALLOC new at the
 * freed address. Informational: it splits ingest time between the registry and everything before it.
 * The registry records into a UsageSeries as the server's does (every total change updates the current
 * 1-s bucket of the ledger's and the device's figure).
 */
export const registryApply: Benchmark = {
  name: "registry_apply_events_per_s",
  tier: "micro",
  description: "Registry.allocate/free churn at 100k live on one ledger (anomaly checks included)",
  metrics: [{ name: "registry_apply_events_per_s", unit: "events/s", comparison: ">=" }],
  warmupRuns: 2,
  async open(context) {
    const events = context.quick ? 400_000 : 4_000_000;
    const registry = new Registry(new AnomalyLog(), new UsageSeries(systemTimers, Date.now));
    const ledger = registry.ledger(registry.openAccount("0".repeat(32), process.pid), 0);
    const idOfSlot = new Float64Array(LIVE);
    let nextId = 1;
    for (let slot = 0; slot < LIVE; slot++) {
      idOfSlot[slot] = nextId;
      registry.allocate(ledger, DRAM, nextId++, slot * SIZE_BYTES, SIZE_BYTES, 0);
    }
    let cursor = 0;
    return {
      async runOnce() {
        const started = process.hrtime.bigint();
        for (let i = 0; i < events; i += 2) {
          registry.free(ledger, DRAM, idOfSlot[cursor]!, SIZE_BYTES);
          idOfSlot[cursor] = nextId;
          registry.allocate(ledger, DRAM, nextId++, cursor * SIZE_BYTES, SIZE_BYTES, i);
          cursor = cursor + 1 === LIVE ? 0 : cursor + 1;
        }
        const elapsedNs = Number(process.hrtime.bigint() - started);
        if (registry.liveAllocations !== LIVE)
          throw new Error(`${registry.liveAllocations} live, expected ${LIVE}`);
        return { registry_apply_events_per_s: (events / elapsedNs) * 1e9 };
      },
      async close() {},
    };
  },
};
