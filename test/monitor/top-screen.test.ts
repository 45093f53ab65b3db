// top's screen as pure lines: the exact 80×24 frame, bounds (never more lines than the terminal, never
// a line wider), NO_COLOR, names scrubbed, many devices, the no-server screen.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Line, lineText } from "../../src/monitor/top/line.js";
import { type ScreenInput, topScreen } from "../../src/monitor/top/screen.js";
import { INITIAL_UI } from "../../src/monitor/top/ui-state.js";
import type { SummaryResponse } from "../../src/server/api-types.js";
import { legacyFixture } from "./smi-fixture.js";
import { fixedSource, NOW } from "./top-fixture.js";

const GOLDEN_80x24 = [
  "allocwatch top  ·  server 0.1.0  ·  up 5 s  ·  live  ·  http://127.0.0.1:7477",
  "Device 0  wormhole_b0 n150 (wormhole_b0)  160 allocations   chart: last 60 s",
  "  DRAM     [███░░░░░░░░░░░░░░░░░]  1536/12288 MiB   13% ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁",
  "  L1+CB    [███░░░░░░░░░░░░░░░░░]   13.4/93.0 MiB   14% ▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂▂",
  "  CB                                    0.9 in L1               ▁      ▁       ",
  "  TRACE    [█░░░░░░░░░░░░░░░░░░░]   8.0/256.0 MiB    3%                        ",
  "  KERNEL   [                    ]        <0.1 MiB                              ",
  "  L1_SMALL [█░░░░░░░░░░░░░░░░░░░]     0.1/2.0 MiB    3%                        ",
  "Device 1  wormhole_b0 n300 (wormhole_b0)  40 allocations   chart: last 60 s",
  "  DRAM     [██████████████████░░] 11264/12288 MiB   92% ███████████████████████",
  "  L1+CB    [░░░░░░░░░░░░░░░░░░░░]    0.0/93.0 MiB    0%                        ",
  "  TRACE    [░░░░░░░░░░░░░░░░░░░░]   0.0/256.0 MiB    0%                        ",
  "  L1_SMALL [░░░░░░░░░░░░░░░░░░░░]     0.0/2.0 MiB    0%                        ",
  "",
  "    PID Process            St   Dev    DRAM▼       L1       CB    TRACE   KERNEL",
  "   4242 llama-serve        conn   1    11264      0.0      0.0      0.0      0.0",
  "   4242 llama-serve        conn   0     1024      4.0      0.9      8.0     <0.1",
  "     77 resnet             conn   0      512      8.5      0.0      0.0      0.0",
  "Anomalies: 3 (ADDRESS_OVERLAP 1, UNKNOWN_FREE 2)",
  "q quit  ? help  ↑↓ select  Enter details  s sort: DRAM  f device: all",
];

function screen(change: Partial<ScreenInput> = {}, summary?: SummaryResponse): Line[] {
  const source = fixedSource({}, summary);
  return topScreen({
    snapshot: source.snapshot(),
    ui: INITIAL_UI,
    columns: 80,
    rows: 24,
    nowMs: NOW,
    serverUrl: "http://127.0.0.1:7477",
    color: false,
    ...change,
  });
}

test("80×24: device bars and charts (the CB bursts show), processes by DRAM, anomalies, keys", () => {
  assert.deepEqual(screen().map(lineText), GOLDEN_80x24);
});

test("never more lines than the terminal has (less one), never a line wider than it", () => {
  const many: SummaryResponse = structuredClone(fixedSource().snapshot().summary!);
  for (let i = 0; i < 40; i++) {
    many.processes.push({ ...structuredClone(many.processes[1]!), pid: 1000 + i, name: `worker-${i}` });
  }
  for (const [columns, rows] of [
    [80, 24],
    [100, 30],
    [60, 12],
    [200, 60],
  ]) {
    const lines = screen({ columns, rows }, many).map(lineText);
    assert.ok(lines.length <= rows - 1, `${columns}×${rows}: ${lines.length} lines`);
    for (const line of lines) assert.ok(line.length <= columns, `${columns}×${rows}: ${line}`);
  }
});

test("the selected row stays on screen however far down it is", () => {
  const many: SummaryResponse = structuredClone(fixedSource().snapshot().summary!);
  for (let i = 0; i < 40; i++) {
    many.processes.push({ ...structuredClone(many.processes[1]!), pid: 1000 + i, name: `worker-${i}` });
  }
  // By pid: 77, then 1000..1039, then 4242 on devices 0 and 1; row 40 is pid 1039.
  const lines = screen({ ui: { ...INITIAL_UI, sort: "pid", selected: 40 } }, many);
  const selected = lines.filter((l) => l.some((s) => s.inverse));
  assert.equal(selected.length, 1);
  assert.match(lineText(selected[0]!), /^ +1039 worker-39 /);
});

test("NO_COLOR: no colour at all; with colour the bars and the anomaly count are coloured", () => {
  assert.ok(screen().every((l) => l.every((s) => s.color === undefined)));
  const coloured = screen({ color: true });
  assert.ok(coloured.some((l) => l.some((s) => s.color === "red" && /Anomalies/.test(s.text))));
  assert.ok(coloured.some((l) => l.some((s) => s.color === "green" && s.text.includes("█"))));
});

test("names cannot drive the terminal: control characters print as ?", () => {
  const ESC = String.fromCharCode(27);
  const summary: SummaryResponse = structuredClone(fixedSource().snapshot().summary!);
  summary.processes[0]!.name = `bad${ESC}[2J\u009b`;
  summary.devices[0]!.name = `dev${ESC}]0;x\u0007`;
  const text = screen({}, summary).map(lineText).join("\n");
  for (const char of text) {
    const code = char.charCodeAt(0);
    assert.ok(char === "\n" || !(code < 0x20 || (code >= 0x7f && code <= 0x9f)), JSON.stringify(char));
  }
  assert.match(text, /bad\?\[2J\?/);
  assert.match(text, /dev\?\]0;x\?/);
});

test("more devices than fit: one line each (DRAM and L1 use), then a count of the rest", () => {
  const summary: SummaryResponse = structuredClone(fixedSource().snapshot().summary!);
  const base = summary.devices.find((d) => d.id === 0)!;
  summary.devices = Array.from({ length: 32 }, (_, id) => ({
    ...structuredClone(base),
    id,
    name: `chip ${id}`,
  }));
  const lines = screen({}, summary).map(lineText);
  assert.match(lines[1]!, /^Device 0 +chip 0 +DRAM +13% +L1\+CB +14%/);
  assert.ok(lines.some((l) => /^… \d+ more devices \(f shows one at a time\)$/.test(l)));
  assert.ok(
    lines.some((l) => /^ +PID Process/.test(l)),
    "the process table keeps its place",
  );
  // One device chosen with f: its full block.
  const one = screen({ ui: { ...INITIAL_UI, device: 5 } }, summary).map(lineText);
  assert.match(one[1]!, /^Device 5 +chip 5/);
  assert.match(one[2]!, /^ {2}DRAM +\[/);
});

test("no server: says so, says it retries, shows no stale figures", () => {
  const source = fixedSource({
    status: "no-server",
    problem: "no allocation server at http://127.0.0.1:9 (start one with `allocwatch serve`)",
  });
  const lines = topScreen({
    snapshot: source.snapshot(),
    ui: INITIAL_UI,
    columns: 80,
    rows: 24,
    nowMs: NOW,
    serverUrl: "http://127.0.0.1:9",
    color: false,
  }).map(lineText);
  assert.match(lines[0]!, /no server/);
  assert.ok(lines.includes("no allocation server at http://127.0.0.1:9 (start one with `allocwatch serve`)"));
  assert.ok(lines.includes("Retrying every second; q quits."));
  assert.ok(!lines.some((l) => /Device 0|llama-serve/.test(l)));
});

test("a (process, device) over the server's live-allocation limit is flagged beside the anomalies", () => {
  const over: SummaryResponse = structuredClone(fixedSource().snapshot().summary!);
  over.server.overLimit = 2;
  const text = screen({}, over).map(lineText);
  assert.ok(
    text.includes("Anomalies: 3 (ADDRESS_OVERLAP 1, UNKNOWN_FREE 2)  ! 2 over alloc limit"),
    text.join("\n"),
  );
  assert.ok(
    !screen()
      .map(lineText)
      .some((l) => l.includes("over alloc limit")),
    "nothing while none is",
  );
});

test("the legacy adapter's trouble is flagged beside the anomalies; a clean legacy adapter adds nothing", () => {
  const base = fixedSource().snapshot().summary!;
  const legacy = legacyFixture;
  const troubled: SummaryResponse = structuredClone(base);
  troubled.server.legacy = legacy;
  const text = screen({ columns: 120 }, troubled).map(lineText);
  assert.ok(
    text.includes(
      "Anomalies: 3 (ADDRESS_OVERLAP 1, UNKNOWN_FREE 2)  ! legacy: 1 refused, 4 quarantined, 3 unknown frees",
    ),
    text.join("\n"),
  );
  const clean: SummaryResponse = structuredClone(base);
  clean.server.legacy = { ...legacy, refusedConnections: 0, quarantines: 0, unknownFrees: 0 };
  assert.ok(
    !screen({}, clean)
      .map(lineText)
      .some((l) => l.includes("legacy")),
  );
});
