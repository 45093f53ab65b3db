// Used bytes over time: 1-s min/max/last buckets fed by every change of a registry total, rolled over by
// the clock, bounded to 15 minutes and to live figures.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AnomalyLog } from "../../src/server/anomaly-log.js";
import { Registry } from "../../src/server/registry.js";
import { clearChangeMarks, SeriesIncrements, seriesResponse } from "../../src/server/series/series-view.js";
import { SERIES_BUCKETS, SERIES_BYTES_PER_TYPE, UsageSeries } from "../../src/server/series/usage-series.js";
import { ManualTimers } from "../../src/server/timers.js";

const DRAM = 0;
const L1 = 1;
const CB = 5;
/** A whole second of the epoch plus 300 ms: the first bucket is partly over when the test starts. */
const EPOCH_START_MS = 1_800_000_000_300;

function setup() {
  const timers = new ManualTimers();
  const series = new UsageSeries(timers, () => EPOCH_START_MS + timers.nowMs());
  series.start();
  const registry = new Registry(new AnomalyLog(), series);
  const account = registry.openAccount("a".repeat(32), 1234);
  const ledger = registry.ledger(account, 0);
  const firstSecond = Math.floor(EPOCH_START_MS / 1000);
  const view = (sinceSecond = 0) =>
    seriesResponse(registry, series.clock, { deviceId: 0, changedOnly: false, sinceSecond });
  return { timers, series, registry, account, ledger, firstSecond, view };
}

test("a burst inside one second shows as max while last (and used when the second ends) is 0", () => {
  const { timers, registry, ledger, firstSecond, view } = setup();
  registry.allocate(ledger, L1, 1, 0x1000, 4096, 0);
  registry.allocate(ledger, CB, 2, 0x2000, 65536, 0);
  registry.free(ledger, L1, 1, 4096);
  registry.free(ledger, CB, 2, 65536);
  timers.advance(700); // into the next second
  const { devices, processes } = view();
  for (const used of [devices[0]!.used, processes[0]!.used]) {
    assert.deepEqual(used.L1, [
      { t: firstSecond * 1000, min: 0, max: 4096, last: 0 },
      { t: (firstSecond + 1) * 1000, min: 0, max: 0, last: 0 },
    ]);
    assert.equal(used.CB[0]!.max, 65536);
    assert.equal(used.CB[0]!.last, 0);
    assert.deepEqual(used.DRAM, [], "a type that never changed has no buckets");
  }
});

test("min, max and last follow every change; a new second starts from the last value", () => {
  const { timers, registry, ledger, firstSecond, view } = setup();
  registry.allocate(ledger, DRAM, 1, 0, 300, 0);
  registry.allocate(ledger, DRAM, 2, 4096, 200, 0);
  registry.free(ledger, DRAM, 1, 300);
  timers.advance(700);
  registry.allocate(ledger, DRAM, 3, 8192, 1000, 0);
  registry.free(ledger, DRAM, 3, 1000);
  registry.free(ledger, DRAM, 2, 200);
  const dram = view().devices[0]!.used.DRAM;
  assert.deepEqual(dram, [
    { t: firstSecond * 1000, min: 0, max: 500, last: 200 },
    { t: (firstSecond + 1) * 1000, min: 0, max: 1200, last: 0 },
  ]);
  // Another session on the same device: the device sums, each session has its own figure.
  const other = registry.ledger(registry.openAccount("b".repeat(32), 99), 0);
  registry.allocate(other, DRAM, 1, 0, 50, 0);
  const response = view(firstSecond + 1);
  assert.equal(response.devices[0]!.used.DRAM[0]!.last, 50);
  assert.deepEqual(
    response.processes.map((p) => [p.sessionId[0], p.pid, p.used.DRAM.at(-1)!.last]),
    [
      ["a", 1234, 0],
      ["b", 99, 50],
    ],
  );
  assert.equal(response.devices[0]!.used.DRAM.length, 1, "since: only buckets from that second");
});

test("the window keeps 15 minutes: older buckets are dropped, the ring never grows", () => {
  const { timers, series, registry, ledger, firstSecond, view } = setup();
  registry.allocate(ledger, DRAM, 1, 0, 4096, 0);
  const bytesBefore = series.ringBytes;
  assert.equal(bytesBefore, 2 * SERIES_BYTES_PER_TYPE, "one type of two figures (device, session)");
  timers.advance(1000 * (SERIES_BUCKETS + 10));
  const dram = view().devices[0]!.used.DRAM;
  assert.equal(dram.length, SERIES_BUCKETS);
  const now = firstSecond + SERIES_BUCKETS + 10;
  assert.equal(dram[0]!.t, (now - SERIES_BUCKETS + 1) * 1000);
  assert.equal(dram.at(-1)!.t, now * 1000);
  assert.ok(dram.every((b) => b.min === 4096 && b.max === 4096 && b.last === 4096));
  assert.equal(series.ringBytes, bytesBefore);
});

test("a clock that jumps past the window keeps only the last value", () => {
  const timers = new ManualTimers();
  let offsetMs = EPOCH_START_MS;
  const series = new UsageSeries(timers, () => offsetMs + timers.nowMs());
  const registry = new Registry(new AnomalyLog(), series);
  const ledger = registry.ledger(registry.openAccount("c".repeat(32), 1), 3);
  registry.allocate(ledger, DRAM, 1, 0, 10, 0);
  registry.allocate(ledger, DRAM, 2, 64, 20, 0);
  offsetMs += 3_600_000;
  series.catchUp();
  const dram = seriesResponse(registry, series.clock, { changedOnly: false, sinceSecond: 0 }).devices[0]!.used
    .DRAM;
  assert.equal(dram.length, SERIES_BUCKETS);
  assert.deepEqual(dram[0], { t: dram[0]!.t, min: 30, max: 30, last: 30 });
  assert.equal(dram.at(-1)!.t, Math.floor((offsetMs + timers.nowMs()) / 1000) * 1000);
});

test("a released session's series are dropped; the device's series shows the release", () => {
  const { timers, series, registry, account, ledger, view } = setup();
  registry.allocate(ledger, DRAM, 1, 0, 4096, 0);
  registry.allocate(ledger, L1, 2, 0, 128, 0);
  const figures = series.figureCount;
  timers.advance(1000);
  registry.releaseAccount(account);
  assert.equal(series.figureCount, figures - 1);
  const response = view();
  assert.deepEqual(response.processes, []);
  const dram = response.devices[0]!.used.DRAM;
  assert.deepEqual(dram.at(-1), { t: dram.at(-1)!.t, min: 0, max: 4096, last: 0 });
  assert.equal(series.ringBytes, 2 * SERIES_BYTES_PER_TYPE, "only the device's two types remain");
  assert.equal(registry.forgetDeviceIfUnused(0), true);
  assert.equal(series.figureCount, 0);
  assert.equal(series.ringBytes, 0);
});

test("a snapshot replacing a ledger records its settled totals, not the way there", () => {
  const { timers, registry, ledger, view } = setup();
  registry.allocate(ledger, DRAM, 1, 0, 1000, 0);
  registry.allocate(ledger, DRAM, 2, 4096, 3000, 0);
  timers.advance(1000);
  registry.clearLedger(ledger);
  registry.allocate(ledger, DRAM, 1, 0, 1000, 0);
  registry.allocate(ledger, DRAM, 3, 8192, 3500, 0);
  registry.settleLedger(ledger);
  const response = view();
  for (const used of [response.devices[0]!.used, response.processes[0]!.used]) {
    assert.deepEqual(used.DRAM.at(-1), { t: used.DRAM.at(-1)!.t, min: 4000, max: 4500, last: 4500 });
  }
});

test("stream increments: only figures that changed, from the previous increment's second", () => {
  const { timers, registry, ledger, series, firstSecond } = setup();
  const increments = new SeriesIncrements(registry, series);
  const quiet = registry.ledger(registry.openAccount("d".repeat(32), 7), 1);
  registry.allocate(quiet, DRAM, 1, 0, 5, 0);
  clearChangeMarks(registry);
  assert.equal(increments.changed(), false);
  registry.allocate(ledger, L1, 1, 0, 64, 0);
  assert.equal(increments.changed(), true);
  timers.advance(2000);
  registry.free(ledger, L1, 1, 64);
  const first = increments.take();
  assert.deepEqual(
    first.devices.map((d) => d.id),
    [0],
  );
  assert.deepEqual(
    first.processes.map((p) => p.sessionId[0]),
    ["a"],
  );
  assert.deepEqual(
    first.devices[0]!.used.L1.map((b) => [b.t / 1000 - firstSecond, b.max, b.last]),
    [
      [0, 64, 64],
      [1, 64, 64],
      [2, 64, 0],
    ],
  );
  assert.equal(increments.changed(), false);
  registry.allocate(ledger, L1, 2, 0, 8, 0);
  const second = increments.take();
  assert.deepEqual(
    second.devices[0]!.used.L1.map((b) => [b.t / 1000 - firstSecond, b.max, b.last]),
    [[2, 64, 8]],
  );
  timers.advance(3000);
  registry.allocate(ledger, L1, 3, 64, 8, 0);
  increments.restart();
  assert.equal(increments.changed(), false, "restart forgets what no client received");
  registry.free(ledger, L1, 3, 8);
  assert.deepEqual(
    increments.take().devices[0]!.used.L1.map((b) => [b.t / 1000 - firstSecond, b.max, b.last]),
    [[5, 16, 8]],
    "from the restart's second on",
  );
});

test("a registry without series records nothing and costs no rings", () => {
  const registry = new Registry(new AnomalyLog());
  const ledger = registry.ledger(registry.openAccount("e".repeat(32), 1), 0);
  registry.allocate(ledger, DRAM, 1, 0, 10, 0);
  assert.equal(
    ledger.series.rings.every((r) => r === undefined),
    true,
  );
  assert.equal(ledger.series.changed, false);
});

test("the ring budget: types past it show no buckets, and a released figure gives its rings back", () => {
  const timers = new ManualTimers();
  // Room for 3 rings: device 0 and one session's DRAM, then the device's L1.
  const series = new UsageSeries(timers, () => EPOCH_START_MS, 3 * SERIES_BYTES_PER_TYPE + 100);
  const registry = new Registry(new AnomalyLog(), series);
  const account = registry.openAccount("f".repeat(32), 1);
  const ledger = registry.ledger(account, 0);
  registry.allocate(ledger, DRAM, 1, 0, 10, 0);
  registry.allocate(ledger, L1, 2, 0, 20, 0);
  assert.equal(series.refusedRings, 1, "the session's L1 ring did not fit");
  assert.equal(series.ringBytes, 3 * SERIES_BYTES_PER_TYPE);
  const view = () => seriesResponse(registry, series.clock, { changedOnly: false, sinceSecond: 0 });
  assert.equal(view().devices[0]!.used.L1.at(-1)!.last, 20);
  assert.deepEqual(view().processes[0]!.used.L1, [], "refused: no buckets, not wrong ones");
  assert.equal(view().processes[0]!.used.DRAM.at(-1)!.last, 10);
  registry.free(ledger, L1, 2, 20); // records into the refused ring: harmless
  assert.equal(view().devices[0]!.used.L1.at(-1)!.last, 0);
  registry.releaseAccount(account);
  assert.equal(series.ringBytes, 2 * SERIES_BYTES_PER_TYPE);
  const next = registry.ledger(registry.openAccount("9".repeat(32), 2), 0);
  registry.allocate(next, DRAM, 1, 0, 5, 0);
  const reused = view().processes[0]!.used.DRAM;
  assert.deepEqual(
    reused.map((b) => [b.min, b.max, b.last]),
    [[0, 5, 5]],
    "the freed ring was taken again, without the old session's values",
  );
  assert.equal(series.refusedRings, 1);
});
