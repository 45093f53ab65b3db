// `smi --json` against its published schema (docs/smi-json.schema.json, described in docs/SMI.md).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { SMI_JSON_SCHEMA_VERSION, toSmiJson } from "../../src/monitor/smi/json.js";
import type { SummaryResponse } from "../../src/server/api-types.js";
import { type Schema, schemaProblems } from "../support/json-schema.js";
import { repoRoot } from "../support/repo-files.js";
import { fixtureSummary } from "./smi-fixture.js";

const schema = JSON.parse(
  readFileSync(join(repoRoot(import.meta.url), "docs", "smi-json.schema.json"), "utf8"),
) as Schema;
const context = { now: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), serverUrl: "http://127.0.0.1:7477" };

test("the document carries schemaVersion, timestamp and the server's version and address", () => {
  const json = toSmiJson(fixtureSummary, context);
  assert.equal(json.schemaVersion, SMI_JSON_SCHEMA_VERSION);
  assert.equal(json.schemaVersion, 1);
  assert.equal(json.timestamp, "2026-01-02T03:04:05.000Z");
  assert.deepEqual(json.server, { version: "0.1.0", url: "http://127.0.0.1:7477" });
});

test("devices (by id) with every memory type, use% (L1 counting CB) and over-capacity; processes by pid", () => {
  const json = toSmiJson(fixtureSummary, context);
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
    usedPercent: 13,
    overCapacity: false,
  });
  // (12.5 MiB L1 + 900 KiB CB) / 93 MiB
  assert.equal(json.devices[0]!.memory["L1"]!.usedPercent, 14);
  assert.equal(json.devices[0]!.memory["CB"]!.usedPercent, null);
  assert.deepEqual(
    json.processes.map((p) => p.pid),
    [77, 4242],
  );
  assert.equal(json.processes[1]!.devices[1]!.used["DRAM"], 11 * 1024 ** 3);
  assert.deepEqual(json.anomalies, { total: 3, byKind: { UNKNOWN_FREE: 2, ADDRESS_OVERLAP: 1 } });
});

test("filters apply to the JSON as to the table", () => {
  const json = toSmiJson(fixtureSummary, { ...context, deviceIds: [1], pids: [4242] });
  assert.deepEqual(
    json.devices.map((d) => d.id),
    [1],
  );
  assert.deepEqual(
    json.processes.map((p) => [p.pid, p.devices.map((d) => d.id)]),
    [[4242, [1]]],
  );
});

test("the document conforms to the published schema, and the checker catches what breaks it", () => {
  const json = toSmiJson(fixtureSummary, context);
  assert.deepEqual(schemaProblems(schema, json), []);
  assert.deepEqual(schemaProblems(schema, JSON.parse(JSON.stringify(json))), []);
  const over: SummaryResponse = structuredClone(fixtureSummary);
  over.devices.find((d) => d.id === 0)!.memory.KERNEL.total = 100;
  const flagged = toSmiJson(over, context);
  assert.equal(flagged.devices[0]!.memory["KERNEL"]!.overCapacity, true);
  assert.deepEqual(schemaProblems(schema, flagged), []);
  // The checker is not vacuous: each of these breaks the schema.
  const broken = [
    { ...json, schemaVersion: 2 },
    { ...json, timestamp: "yesterday" },
    { ...json, extra: 1 },
    { ...json, server: { version: "0.1.0" } },
    { ...json, devices: [{ ...json.devices[0], memory: { DRAM: { used: 1 } } }] },
  ];
  for (const doc of broken)
    assert.notDeepEqual(schemaProblems(schema, doc), [], JSON.stringify(doc).slice(0, 80));
});

test("over the server's live-allocation limit: the device and the process's device say so; absent reads false", () => {
  const over: SummaryResponse = structuredClone(fixtureSummary);
  over.devices.find((d) => d.id === 1)!.overLimit = true;
  const row = over.processes.find((p) => p.pid === 4242)!.devices.find((d) => d.id === 1)!;
  row.overLimit = true;
  row.refusedAllocations = 5;
  const json = toSmiJson(over, context);
  assert.deepEqual(
    json.devices.map((d) => [d.id, d.overLimit]),
    [
      [0, false],
      [1, true],
    ],
  );
  assert.deepEqual(
    json.processes.flatMap((p) => p.devices.map((d) => [p.pid, d.id, d.overLimit])),
    [
      [77, 0, false],
      [4242, 0, false],
      [4242, 1, true],
    ],
  );
  assert.deepEqual(schemaProblems(schema, json), []);
  // A server older than the limits sends no flag: nothing was refused there.
  const older = structuredClone(fixtureSummary) as unknown as { devices: Record<string, unknown>[] };
  for (const d of older.devices) delete d["overLimit"];
  assert.equal(toSmiJson(older as unknown as SummaryResponse, context).devices[0]!.overLimit, false);
});
