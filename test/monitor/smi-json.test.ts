import assert from "node:assert/strict";
import { test } from "node:test";
import { toSmiJson } from "../../src/monitor/smi/json.js";
import { fixtureSummary } from "./smi-fixture.js";

test("smi --json has devices (by id) with every memory type, processes (by pid) with per-device use, anomalies", () => {
  const json = toSmiJson(fixtureSummary);
  assert.deepEqual(
    json.devices.map((d) => d.id),
    [0, 1],
  );
  assert.deepEqual(Object.keys(json.devices[0]!.memory), [
    "DRAM",
    "L1",
    "SYSTEM_MEMORY",
    "L1_SMALL",
    "TRACE",
    "CB",
    "KERNEL",
  ]);
  assert.deepEqual(json.devices[0]!.memory["DRAM"], {
    used: 1.5 * 1024 ** 3,
    total: 12 * 1024 ** 3,
    peak: 2 * 1024 ** 3,
    allocations: 120,
    leaked: 0,
  });
  assert.deepEqual(
    json.processes.map((p) => p.pid),
    [77, 4242],
  );
  assert.deepEqual(
    json.processes[1]!.devices.map((d) => d.id),
    [0, 1],
  );
  assert.equal(json.processes[1]!.devices[1]!.used["DRAM"], 11 * 1024 ** 3);
  assert.deepEqual(json.anomalies, { total: 3, byKind: { UNKNOWN_FREE: 2, ADDRESS_OVERLAP: 1 } });
  assert.equal("server" in json, false);
  // Plain data: survives a JSON round trip unchanged.
  assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
});
