// The smi table, golden: the exact text at 100 and 80 columns (fixed widths, MiB everywhere), the
// wide profile, filters, over-capacity flags and control characters in names.
import assert from "node:assert/strict";
import { test } from "node:test";
import { renderSmi } from "../../src/monitor/smi/render.js";
import type { SummaryResponse as Summary } from "../../src/server/api-types.js";
import { fixtureSummary, legacyFixture } from "./smi-fixture.js";

const SERVER = "http://127.0.0.1:7477";

const GOLDEN_100 = [
  "allocwatch smi  ·  server 0.1.0  ·  http://127.0.0.1:7477",
  "",
  " ID  Name                    MiB      DRAM      L1      CB   TRACE  KERNEL L1_SMALL  SYSMEM  Allocs",
  "  0  wormhole_b0 n150        used     1536    12.5     0.9     8.0    <0.1      0.1       0     160",
  "     wormhole_b0             peak     2048    12.5     0.9     8.0    <0.1      0.1       0",
  "                             total   12288    93.0   in L1   256.0       -      2.0       -",
  "                             use%      13%     14%       -      3%       -       3%       -",
  "  1  wormhole_b0 n300        used    11264     0.0     0.0     0.0     0.0      0.0       0      40",
  "     wormhole_b0             peak    11264     0.0     0.0     0.0     0.0      0.0       0",
  "                             total   12288    93.0   in L1   256.0       -      2.0       -",
  "                             use%      92%      0%       -      0%       -       0%       -",
  "",
  "Processes (MiB):",
  "    PID  Process          Dev    DRAM      L1      CB   TRACE  KERNEL L1_SMALL  SYSMEM  State",
  "     77  resnet             0     512     8.5     0.0     0.0     0.0      0.1       0  connected",
  "   4242  llama-serve        0    1024     4.0     0.9     8.0    <0.1      0.0       0  connected",
  "   4242  llama-serve        1   11264     0.0     0.0     0.0     0.0      0.0       0  connected",
  "",
  "L1 use% counts CB (CB lives in L1). Peak: the highest since the server started.",
  "Anomalies: 3 (ADDRESS_OVERLAP 1, UNKNOWN_FREE 2)  — see /api/v1/anomalies",
  "",
].join("\n");

const GOLDEN_80 = [
  "allocwatch smi  ·  server 0.1.0  ·  http://127.0.0.1:7477",
  "",
  " ID  Name                  MiB      DRAM      L1      CB   TRACE  KERNEL  Allocs",
  "  0  wormhole_b0 n150      used     1536    12.5     0.9     8.0    <0.1     160",
  "     wormhole_b0           peak     2048    12.5     0.9     8.0    <0.1",
  "                           total   12288    93.0   in L1   256.0       -",
  "                           use%      13%     14%       -      3%       -",
  "  1  wormhole_b0 n300      used    11264     0.0     0.0     0.0     0.0      40",
  "     wormhole_b0           peak    11264     0.0     0.0     0.0     0.0",
  "                           total   12288    93.0   in L1   256.0       -",
  "                           use%      92%      0%       -      0%       -",
  "",
  "Processes (MiB):",
  "    PID  Process       Dev    DRAM      L1      CB   TRACE  KERNEL  State",
  "     77  resnet          0     512     8.5     0.0     0.0     0.0  connected",
  "   4242  llama-serve     0    1024     4.0     0.9     8.0    <0.1  connected",
  "   4242  llama-serve     1   11264     0.0     0.0     0.0     0.0  connected",
  "",
  "L1 use% counts CB (CB lives in L1). Peak: the highest since the server started.",
  "Not shown at this width: L1_SMALL, SYSMEM (--wide).",
  "Anomalies: 3 (ADDRESS_OVERLAP 1, UNKNOWN_FREE 2)  — see /api/v1/anomalies",
  "",
].join("\n");

const longest = (text: string) => Math.max(...text.split("\n").map((l) => l.length));

test("100 columns: every memory type, used / peak / total / use% per device, MiB, fits 100", () => {
  const text = renderSmi(fixtureSummary, { serverUrl: SERVER, columns: 100 });
  assert.equal(text, GOLDEN_100);
  assert.ok(longest(text) <= 100, `longest line ${longest(text)}`);
  // Output that is not a terminal gets the 100-column profile.
  assert.equal(renderSmi(fixtureSummary, { serverUrl: SERVER }), GOLDEN_100);
});

test("80 columns: the first five types, the others named as hidden, fits 80", () => {
  const text = renderSmi(fixtureSummary, { serverUrl: SERVER, columns: 80 });
  assert.equal(text, GOLDEN_80);
  assert.ok(longest(text) <= 80, `longest line ${longest(text)}`);
});

test("--wide shows every column and the source; widths do not depend on the values (no jitter)", () => {
  const wide = renderSmi(fixtureSummary, { wide: true, columns: 80 });
  assert.match(wide, /L1_SMALL {2}SYSMEM {2}Allocs$/m);
  assert.match(wide, /State {9}Source$/m);
  const other: Summary = structuredClone(fixtureSummary);
  other.devices[0]!.memory.DRAM.used = 1;
  other.devices[0]!.allocations = 1;
  other.processes[0]!.devices[0]!.used.DRAM = 7 * 1024 ** 3;
  const a = renderSmi(fixtureSummary, { columns: 100 }).split("\n");
  const b = renderSmi(other, { columns: 100 }).split("\n");
  assert.deepEqual(
    a.map((l) => l.length),
    b.map((l) => l.length),
  );
});

test("L1 use% counts CB; use over capacity is flagged in the row and in a note", () => {
  const summary: Summary = structuredClone(fixtureSummary);
  const d0 = summary.devices.find((d) => d.id === 0)!;
  d0.memory.L1 = { ...d0.memory.L1, used: 80 * 1024 ** 2 };
  d0.memory.CB = { ...d0.memory.CB, used: 20 * 1024 ** 2 };
  d0.memory.KERNEL = { ...d0.memory.KERNEL, used: 4.5 * 1024 ** 2, total: 4.3 * 1024 ** 2 };
  const text = renderSmi(summary, { columns: 100 });
  const percentRow = text.split("\n")[6]!;
  assert.match(percentRow, /use% +13% +108%! +- +3% +105%!/);
  assert.match(
    text,
    /^! Over capacity: device 0 L1 100\.0 MiB used > 93\.0 MiB; device 0 KERNEL 4\.5 MiB used > 4\.3 MiB$/m,
  );
  assert.doesNotMatch(renderSmi(fixtureSummary), /Over capacity/);
});

test("-i and --pid: only the chosen devices, and the chosen processes' rows on them", () => {
  const text = renderSmi(fixtureSummary, { deviceIds: [1] });
  assert.doesNotMatch(text, /wormhole_b0 n150/);
  assert.match(text, /^ {2}1 {2}wormhole_b0 n300/m);
  assert.doesNotMatch(text, /resnet/, "resnet has nothing on device 1");
  assert.match(text, /^ {3}4242 {2}llama-serve +1 +11264/m);
  assert.equal(text.match(/llama-serve/g)?.length, 1);
  const byPid = renderSmi(fixtureSummary, { pids: [77] });
  assert.doesNotMatch(byPid, /llama-serve/);
  assert.match(byPid, /^ {5}77 {2}resnet/m);
  assert.match(renderSmi(fixtureSummary, { deviceIds: [9] }), /^No device with id 9\.$/m);
});

test("names from clients cannot drive the terminal: control characters print as ?", () => {
  const ESC = String.fromCharCode(27);
  const summary: Summary = structuredClone(fixtureSummary);
  summary.devices[0]!.name = `evil${ESC}[2Jdev`;
  summary.processes[0]!.name = `x${ESC}]0;t\u0007\u009b1m`;
  summary.devices[0]!.holders = [{ pid: 5, name: `h${ESC}c`, reporting: false }];
  const text = renderSmi(summary, { wide: true });
  for (const char of text) {
    const code = char.charCodeAt(0);
    assert.ok(char === "\n" || !(code < 0x20 || (code >= 0x7f && code <= 0x9f)), JSON.stringify(text));
  }
  assert.match(text, /evil\?\[2Jdev/);
  assert.match(text, /x\?\]0;t\?\?1m/);
  assert.match(text, /5 h\?c \(holds the device, not reporting\)/);
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
  assert.match(row ?? "", /^ {6}9 {2}idle +- +0 +0\.0 .* connected$/);
});

test("the title carries the server version and the reading time when given", () => {
  const text = renderSmi(fixtureSummary, { now: new Date(2026, 0, 2, 3, 4, 5) });
  assert.equal(text.split("\n")[0], "allocwatch smi  ·  server 0.1.0  ·  2026-01-02 03:04:05");
});

test("a (process, device) over the server's live-allocation limit gets a note naming it", () => {
  const over: Summary = structuredClone(fixtureSummary);
  over.processes[0]!.devices[1]!.overLimit = true;
  over.processes[0]!.devices[1]!.refusedAllocations = 7;
  const text = renderSmi(over, { columns: 100 });
  assert.match(
    text,
    /! Over the server's live-allocation limit: pid 4242 device 0 \(7 refused\); their figures are lower bounds until a snapshot makes them exact\.\nAnomalies:/,
  );
  assert.doesNotMatch(renderSmi(fixtureSummary, { columns: 100 }), /live-allocation limit/);
});

test("the legacy adapter's trouble gets a note; a clean or absent adapter none", () => {
  const legacy = legacyFixture;
  const troubled: Summary = structuredClone(fixtureSummary);
  troubled.server.legacy = legacy;
  assert.match(
    renderSmi(troubled, { columns: 100 }),
    /! Legacy adapter \(2 connected\): 1 connections refused \(--legacy-max-connections\), 4 quarantines, 3 FREEs of unknown addresses\.\nAnomalies:/,
  );
  const clean: Summary = structuredClone(fixtureSummary);
  clean.server.legacy = { ...legacy, refusedConnections: 0, quarantines: 0, unknownFrees: 0 };
  assert.doesNotMatch(renderSmi(clean, { columns: 100 }), /Legacy adapter/);
  assert.doesNotMatch(renderSmi(fixtureSummary, { columns: 100 }), /Legacy adapter/);
});
