import assert from "node:assert/strict";
import { test } from "node:test";
import { renderSmi } from "../../src/monitor/smi/render.js";
import type { SummaryResponse as Summary } from "../../src/server/api-types.js";
import { fixtureSummary } from "./smi-fixture.js";

const ESC = String.fromCharCode(27);
const ANSI = new RegExp(`${ESC}\\[[0-9;]*m`, "g");

const EXPECTED = [
  "allocwatch smi  ·  http://127.0.0.1:7477",
  "",
  "ID  Name              DRAM used / total                  DRAM%  L1 used / total      L1%  L1_SMALL    TRACE         CB  KERNEL  Allocs",
  " 0  wormhole_b0 n150   1.5 GiB / 12.0 GiB  [█░░░░░░░░░]    13%  12.5 MiB / 93.0 MiB  13%  64.0 KiB  8.0 MiB  900.0 KiB   300 B     160",
  " 1  wormhole_b0 n300  11.0 GiB / 12.0 GiB  [█████████░]    92%       0 B / 93.0 MiB   0%       0 B      0 B        0 B     0 B      40",
  "",
  "Processes:",
  " PID  Process      Device       DRAM       L1  L1_SMALL    TRACE         CB  KERNEL  State",
  "  77  resnet            0  512.0 MiB  8.5 MiB  64.0 KiB      0 B        0 B     0 B  connected",
  "4242  llama-serve       0    1.0 GiB  4.0 MiB       0 B  8.0 MiB  900.0 KiB   300 B  connected",
  "4242  llama-serve       1   11.0 GiB      0 B       0 B      0 B        0 B     0 B  connected",
  "",
  "Anomalies: 3 (ADDRESS_OVERLAP 1, UNKNOWN_FREE 2)  — see /api/v1/anomalies",
  "",
].join("\n");

test("renders the fixed summary exactly: devices by id, one process row per device, units, bars", () => {
  assert.equal(renderSmi(fixtureSummary, { serverUrl: "http://127.0.0.1:7477" }), EXPECTED);
});

test("columns line up: every row of a table has the header's width and the DRAM slashes align", () => {
  const lines = renderSmi(fixtureSummary).split("\n");
  const deviceRows = lines.slice(2, 5);
  assert.equal(new Set(deviceRows.map((l) => l.length)).size, 1, deviceRows.join("\n"));
  const slash = deviceRows.slice(1).map((l) => l.indexOf(" / "));
  assert.equal(new Set(slash).size, 1);
  // Right-aligned numbers end where their header ends.
  const header = deviceRows[0]!;
  const allocsEnd = header.indexOf("Allocs") + "Allocs".length;
  for (const row of deviceRows.slice(1)) assert.equal(row.length, allocsEnd);
  const processRows = lines.slice(7, 11);
  const dramEnd = processRows[0]!.indexOf("DRAM") + 4;
  for (const row of processRows.slice(1)) assert.match(row.slice(0, dramEnd), /B$/);
});

test("long names widen their column instead of breaking the alignment", () => {
  const summary: Summary = structuredClone(fixtureSummary);
  summary.devices[0]!.name = "a very long device name that keeps going";
  const rows = renderSmi(summary).split("\n").slice(2, 5);
  assert.equal(new Set(rows.map((l) => l.length)).size, 1);
});

test("colour marks the bar only (red at >= 90%, green below 75%) and does not shift the columns", () => {
  const plain = renderSmi(fixtureSummary);
  const coloured = renderSmi(fixtureSummary, { color: true });
  assert.notEqual(coloured, plain);
  assert.equal(coloured.replace(ANSI, ""), plain);
  assert.ok(coloured.includes(`${ESC}[32m[█░░░░░░░░░]${ESC}[0m`)); // device 0, 13%
  assert.ok(coloured.includes(`${ESC}[31m[█████████░]${ESC}[0m`)); // device 1, 92%
});

test("an empty server says so instead of printing empty tables", () => {
  const text = renderSmi({
    ...fixtureSummary,
    devices: [],
    processes: [],
    anomalies: { total: 0, byKind: {} },
  });
  assert.match(text, /^No devices found/m);
  assert.match(text, /^Processes: none reporting\.$/m);
  assert.match(text, /^Anomalies: none$/m);
});

test("a connected process that holds nothing still gets a row", () => {
  const summary: Summary = {
    ...fixtureSummary,
    devices: [],
    processes: [
      {
        pid: 9,
        name: "idle",
        sessionId: "0".repeat(32),
        state: "connected",
        connections: 1,
        source: "native",
        devices: [],
      },
    ],
  };
  const row = renderSmi(summary)
    .split("\n")
    .find((l) => l.includes("idle"));
  assert.equal(row, "  9  idle          -   0 B  0 B       0 B    0 B  0 B     0 B  connected");
});

test("the title carries the reading time when given", () => {
  const text = renderSmi(fixtureSummary, { now: new Date(2026, 0, 2, 3, 4, 5) });
  assert.equal(text.split("\n")[0], "allocwatch smi  ·  2026-01-02 03:04:05");
});
