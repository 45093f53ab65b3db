// Per-process series: two sessions of one process add up (no session label to keep them apart), and
// past the series limit the (process, device) pairs holding the fewest bytes are left out and counted.
import assert from "node:assert/strict";
import { test } from "node:test";
import { API_MEMORY_TYPES, type PerMemoryType, type ProcessSummary } from "../../src/server/api-types.js";
import { processSeries } from "../../src/server/metrics/process-series.js";

function used(dram: number, l1 = 0): PerMemoryType {
  const out = Object.fromEntries(API_MEMORY_TYPES.map((t) => [t, 0])) as PerMemoryType;
  out.DRAM = dram;
  out.L1 = l1;
  return out;
}

function proc(pid: number, sessionId: string, devices: [number, PerMemoryType][]): ProcessSummary {
  return {
    pid,
    name: `p${pid}`,
    sessionId,
    state: "connected",
    connections: 1,
    source: "native",
    devices: devices.map(([id, u]) => ({
      id,
      used: u,
      allocations: 1,
      overLimit: false,
      refusedAllocations: 0,
    })),
  };
}

test("two sessions of one process on one device make one series per type, their sum", () => {
  const { series, omittedSeries } = processSeries(
    [
      proc(10, "a", [[0, used(100, 5)]]),
      proc(10, "b", [
        [0, used(50)],
        [1, used(7)],
      ]),
    ],
    1000,
  );
  assert.equal(omittedSeries, 0);
  assert.deepEqual(
    series.map((s) => [s.pid, s.deviceId, s.used.DRAM, s.used.L1]),
    [
      [10, 0, 150, 5],
      [10, 1, 7, 0],
    ],
  );
});

test("past the limit the pairs holding the fewest bytes are left out, and counted in series", () => {
  const processes = [
    proc(1, "a", [[0, used(10)]]),
    proc(2, "b", [[0, used(1000)]]),
    proc(3, "c", [[0, used(0, 500)]]),
  ];
  const perPair = API_MEMORY_TYPES.length;
  const { series, omittedSeries } = processSeries(processes, 2 * perPair + 3);
  assert.deepEqual(
    series.map((s) => s.pid),
    [2, 3],
  );
  assert.equal(omittedSeries, perPair);
  assert.deepEqual(processSeries(processes, perPair - 1), { series: [], omittedSeries: 3 * perPair });
});
