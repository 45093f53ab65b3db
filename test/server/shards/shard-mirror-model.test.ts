// The main thread's mirror of ingest shards, against the shards' own registries (fast-check): random
// ALLOCs and FREEs of several sessions on several shards and devices, updates sent at random points.
// After every shard's last update the mirror's totals (device, session × device, live counts, events)
// equal the sums of the shards' registries; a ledger's peak and 1-s series are exactly its shard's; a
// device's peak lies between its highest ledger peak and the sum of its ledgers' peaks, and with one
// session on a device it is exactly that session's peak.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import pino from "pino";
import { MEMORY_TYPE_COUNT } from "../../../src/protocol/memory-type.js";
import { AnomalyLog } from "../../../src/server/anomaly-log.js";
import { MemoryLeakArchive } from "../../../src/server/leaks/memory-leak-archive.js";
import type { ProcessLiveness } from "../../../src/server/process-liveness.js";
import type { Ledger } from "../../../src/server/registry.js";
import { UsageSeries } from "../../../src/server/series/usage-series.js";
import type { SessionPeer } from "../../../src/server/session.js";
import { ShardCore } from "../../../src/server/shards/shard-core.js";
import { shardLimits } from "../../../src/server/shards/shard-limits.js";
import { ShardMirror } from "../../../src/server/shards/shard-mirror.js";
import { ManualTimers } from "../../../src/server/timers.js";
import { TEST_INGEST_LIMITS } from "./ingest-limits.js";

const SHARDS = 3;
const SESSIONS = 5;
const DEVICES = 2;

type Step =
  | { kind: "alloc"; session: number; device: number; type: number; size: number }
  | { kind: "free"; session: number; device: number; pick: number }
  | { kind: "flush"; shard: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant("alloc" as const),
    session: fc.nat(SESSIONS - 1),
    device: fc.nat(DEVICES - 1),
    type: fc.nat(MEMORY_TYPE_COUNT - 1),
    size: fc.integer({ min: 0, max: 1 << 20 }),
  }),
  fc.record({
    kind: fc.constant("free" as const),
    session: fc.nat(SESSIONS - 1),
    device: fc.nat(DEVICES - 1),
    pick: fc.nat(),
  }),
  fc.record({ kind: fc.constant("flush" as const), shard: fc.nat(SHARDS - 1) }),
);

const ALIVE: ProcessLiveness = { isAlive: () => true };
const peer: SessionPeer = { id: 1, requestResync: () => {}, close: () => {} };

/** A mirror over `shards` ShardCores that send only when flushed by hand. */
function setUp(shards: number) {
  const timers = new ManualTimers();
  const series = new UsageSeries(timers, () => 1_000_000);
  const archive = new MemoryLeakArchive();
  const anomalies = new AnomalyLog();
  const mirror = new ShardMirror({
    series,
    anomalies,
    archive: () => archive,
    log: pino({ level: "silent" }),
    maxLive: 1000,
    maxLivePerSession: 1000,
  });
  const limits = shardLimits(TEST_INGEST_LIMITS, 1);
  const cores = Array.from(
    { length: shards },
    (_, s) =>
      new ShardCore(limits, {
        log: pino({ level: "silent" }),
        timers,
        liveness: ALIVE,
        epochMs: () => 1_000_000,
        send: (update) => mirror.apply(s, update),
        defer: () => {}, // updates go out only when a test flushes
      }),
  );
  return { series, archive, anomalies, mirror, cores };
}

test("the mirror's totals are the shards' sums; ledger figures exact; device peaks within their bounds", () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 300 }), fc.nat(SHARDS - 1), (steps, homeOfFirst) => {
      const { series, mirror, cores } = setUp(SHARDS);
      // Session i lives on shard (i + homeOfFirst) % SHARDS.
      const ledgers: Ledger[][] = [];
      const live: { id: number; type: number; size: number }[][][] = [];
      let nextId = 1;
      for (let i = 0; i < SESSIONS; i++) {
        const core = cores[(i + homeOfFirst) % SHARDS]!;
        const session = core.ingest.sessions.attach(
          {
            sessionId: i.toString(16).padStart(32, "0"),
            pid: 100 + i,
            processStartTicks: 0,
            processName: `p${i}`,
            source: "native",
          },
          [],
          peer,
        );
        ledgers.push(
          Array.from({ length: DEVICES }, (_, d) => core.ingest.registry.ledger(session.account, d)),
        );
        live.push(Array.from({ length: DEVICES }, () => []));
      }
      const registryOf = (session: number) => cores[(session + homeOfFirst) % SHARDS]!.ingest.registry;
      for (const s of steps) {
        if (s.kind === "flush") cores[s.shard]!.flush();
        else if (s.kind === "alloc") {
          const id = nextId++;
          registryOf(s.session).allocate(ledgers[s.session]![s.device]!, s.type, id, id * 64, s.size, 0);
          live[s.session]![s.device]!.push({ id, type: s.type, size: s.size });
        } else {
          const held = live[s.session]![s.device]!;
          if (held.length === 0) continue;
          const [{ id, type, size }] = held.splice(s.pick % held.length, 1) as [
            { id: number; type: number; size: number },
          ];
          registryOf(s.session).free(ledgers[s.session]![s.device]!, type, id, size);
        }
      }
      for (const core of cores) core.flush();

      let events = 0;
      for (const core of cores) events += core.ingest.registry.eventsApplied;
      assert.equal(mirror.eventsApplied, events);
      for (let d = 0; d < DEVICES; d++) {
        const mirrored = mirror.findDevice(d);
        const used = new Float64Array(MEMORY_TYPE_COUNT);
        const allocations = new Float64Array(MEMORY_TYPE_COUNT);
        let liveCount = 0;
        for (const core of cores) {
          const device = core.ingest.registry.findDevice(d);
          if (device === undefined) continue;
          liveCount += device.liveAllocations;
          for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
            used[t] += device.usedBytes[t]!;
            allocations[t] += device.allocations[t]!;
          }
        }
        assert.deepEqual(Array.from(mirrored?.usedBytes ?? used), Array.from(used));
        assert.deepEqual(Array.from(mirrored?.allocations ?? allocations), Array.from(allocations));
        assert.equal(mirrored?.liveAllocations ?? liveCount, liveCount);
        if (mirrored === undefined) continue;
        const holders = [...mirrored.ledgers].filter(
          (l) => l.liveAllocations > 0 || l.peakBytes.some((p) => p > 0),
        );
        for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
          let highest = 0;
          let sum = 0;
          for (const ledger of mirrored.ledgers) {
            highest = Math.max(highest, ledger.peakBytes[t]!);
            sum += ledger.peakBytes[t]!;
          }
          assert.ok(mirrored.peakBytes[t]! >= highest, "at least the highest ledger's peak");
          assert.ok(mirrored.peakBytes[t]! <= sum, "at most the sum of the ledgers' peaks");
          if (holders.length === 1) assert.equal(mirrored.peakBytes[t], holders[0]!.peakBytes[t]);
        }
      }
      for (let i = 0; i < SESSIONS; i++) {
        const session = mirror.get(i.toString(16).padStart(32, "0"))!;
        for (let d = 0; d < DEVICES; d++) {
          const truth = ledgers[i]![d]!;
          const mirrored = session.account.ledgers.get(d);
          if (mirrored === undefined) {
            assert.equal(truth.liveAllocations, 0);
            assert.ok(truth.peakBytes.every((p) => p === 0) || truth.usedBytes.every((u) => u === 0));
            continue;
          }
          assert.deepEqual(Array.from(mirrored.usedBytes), Array.from(truth.usedBytes));
          assert.deepEqual(Array.from(mirrored.peakBytes), Array.from(truth.peakBytes));
          assert.deepEqual(Array.from(mirrored.allocations), Array.from(truth.allocations));
          assert.equal(mirrored.liveAllocations, truth.liveAllocations);
          // One second, so the ledger's bucket holds its whole history: its max is its peak.
          for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
            if (!mirrored.series.hasBuckets(t)) continue;
            const ring: Float64Array = mirrored.series.rings[t]!;
            const head = series.clock.head * 3;
            assert.equal(ring[head + 1], truth.peakBytes[t]);
            assert.equal(ring[head + 2], truth.usedBytes[t]);
          }
        }
      }
    }),
    { numRuns: 60 },
  );
});

test("a shard that dies takes its sessions' totals and present figures with it, without leak reports", () => {
  const { archive, anomalies, mirror, cores } = setUp(2);
  const released: string[] = [];
  mirror.listen({ released: (s) => released.push(s.sessionId) });
  const ledgers = cores.map((core, s) => {
    const session = core.ingest.sessions.attach(
      {
        sessionId: `${s}`.repeat(32),
        pid: 10 + s,
        processStartTicks: 0,
        processName: `p${s}`,
        source: "native",
      },
      [],
      peer,
    );
    return core.ingest.registry.ledger(session.account, 7);
  });
  cores[0]!.ingest.registry.allocate(ledgers[0]!, 0, 1, 0x1000, 100, 0);
  cores[1]!.ingest.registry.allocate(ledgers[1]!, 0, 1, 0x1000, 30, 0);
  cores[1]!.ingest.registry.free(ledgers[1]!, 0, 7, 1); // unknown: an anomaly, counted on shard 1
  for (const core of cores) core.flush();
  assert.equal(mirror.findDevice(7)!.usedBytes[0], 130);
  assert.equal(mirror.liveAllocations, 2);
  assert.equal(anomalies.count("UNKNOWN_FREE"), 1);
  assert.equal(anomalies.recent()[0]!.pid, 11, "the record is relayed with its session");

  mirror.dropShard(1);
  assert.deepEqual(released, ["1".repeat(32)]);
  assert.equal(mirror.get("1".repeat(32)), undefined);
  assert.equal(mirror.findDevice(7)!.usedBytes[0], 100, "shard 1's bytes left the device");
  assert.equal(mirror.findDevice(7)!.peakBytes[0], 130, "the peak it saw stays");
  assert.equal(mirror.liveAllocations, 1);
  assert.equal(mirror.eventsApplied, 3, "events applied stay counted");
  assert.equal(anomalies.count("UNKNOWN_FREE"), 1, "so do anomalies");
  assert.equal(archive.list({ limit: 10 }).length, 0, "no leak report: the process did not end");

  // Shard 0's session ends holding its allocation: released, the device forgotten, a leak report saved.
  cores[0]!.ingest.sessions.release(cores[0]!.ingest.sessions.get("0".repeat(32))!, "process-exited");
  cores[0]!.flush();
  assert.equal(mirror.size, 0);
  assert.equal(mirror.findDevice(7), undefined, "no session holds or describes device 7 any more");
  assert.equal(mirror.liveAllocations, 0);
  const [report] = archive.list({ limit: 10 });
  assert.equal(report?.pid, 10);
  assert.equal(report?.bytes.DRAM, 100);
});
