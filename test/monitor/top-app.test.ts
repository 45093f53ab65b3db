// `allocwatch top`'s Ink app driven as a user would, with ink-testing-library: the frames for the
// devices, sorting, the drill-down and back, help, and no server (then the server coming back).
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { cleanup, render } from "ink-testing-library";
import { createElement } from "react";
import { TopApp } from "../../src/monitor/top/app.js";
import { waitFor } from "../support/wait-for.js";
import { type FixedSource, fixedSource, NOW } from "./top-fixture.js";

afterEach(() => cleanup());

const DOWN = "\x1b[B";
const ENTER = "\r";
const ESC = "\x1b";

function start(source: FixedSource) {
  const app = render(
    createElement(TopApp, {
      source,
      serverUrl: "http://127.0.0.1:7477",
      color: false,
      columns: 80,
      rows: 24,
      now: () => NOW,
    }),
  );
  const frame = () => app.lastFrame() ?? "";
  const until = (what: string, test: (frame: string) => boolean) =>
    waitFor(() => test(frame()), { what, detail: frame });
  /** Types `keys`, then waits for the frame they lead to. */
  const press = async (keys: string, what: string, test: (frame: string) => boolean) => {
    app.stdin.write(keys);
    await until(what, test);
  };
  return { app, frame, until, press };
}

/** The process rows of a frame, as "pid device" in screen order. */
function rowOrder(frame: string): string[] {
  return [...frame.matchAll(/^ +(\d+) \S+ +\w+ +(\d+) /gm)].map((m) => `${m[1]} ${m[2]}`);
}

test("devices: names, bars and charts for both devices, and the process rows by DRAM", async () => {
  const { frame, until } = start(fixedSource());
  await until("the device panel", (f) => f.includes("Device 1"));
  const text = frame();
  assert.match(text, /^Device 0 {2}wormhole_b0 n150/m);
  assert.match(text, /^Device 1 {2}wormhole_b0 n300/m);
  assert.match(text, /^ {2}DRAM +\[█+░+\] +1536\/12288 MiB +13%/m);
  assert.match(text, /^ {2}CB +0\.9 in L1 +▁ +▁/m, "the CB bursts in the chart");
  assert.deepEqual(rowOrder(text), ["4242 1", "4242 0", "77 0"]);
  assert.match(text, /^Anomalies: 3 \(ADDRESS_OVERLAP 1, UNKNOWN_FREE 2\)$/m);
  const lines = text.split("\n");
  assert.ok(lines.length <= 23, `${lines.length} lines`);
  for (const line of lines) assert.ok(line.length <= 80, line);
});

test("sort: s steps DRAM → L1 → … → pid, the header marks the key and the rows follow", async () => {
  const app = start(fixedSource());
  await app.until("the first frame", (f) => f.includes("DRAM▼"));
  await app.press("s", "sort by L1", (f) => f.includes("L1▼") && f.includes("s sort: L1"));
  assert.deepEqual(rowOrder(app.frame()), ["77 0", "4242 0", "4242 1"]);
  await app.press("sss", "sort by pid", (f) => f.includes("PID▼"));
  assert.deepEqual(rowOrder(app.frame()), ["77 0", "4242 0", "4242 1"]);
  await app.press("s", "sort by name", (f) => f.includes("Process▼"));
  assert.deepEqual(rowOrder(app.frame()), ["4242 0", "4242 1", "77 0"]);
});

test("f shows one device at a time (its rows only), then all again", async () => {
  const app = start(fixedSource());
  await app.until("the first frame", (f) => f.includes("Device 1"));
  await app.press("f", "device 0 only", (f) => f.includes("f device: 0"));
  assert.doesNotMatch(app.frame(), /^Device 1/m);
  assert.deepEqual(rowOrder(app.frame()), ["4242 0", "77 0"]);
  await app.press("f", "device 1 only", (f) => f.includes("f device: 1"));
  assert.deepEqual(rowOrder(app.frame()), ["4242 1"]);
  await app.press("f", "all devices", (f) => f.includes("f device: all"));
});

test("drill-down: Enter on a row lists its largest and oldest allocations; Esc goes back", async () => {
  const source = fixedSource();
  const app = start(source);
  await app.until("the first frame", (f) => f.includes("Device 1"));
  // Down then Enter in one read: the second key must see the first's selection.
  await app.press(DOWN + ENTER, "the drill-down", (f) => f.includes("Largest of 100 live allocations"));
  const text = app.frame();
  assert.match(text, /^Process 4242 llama-serve {2}device 0 {2}connected {2}native$/m);
  assert.match(text, /^ {2}DRAM +512\.0 MiB {2}0x7000 +1\.0 s {2}7$/m);
  assert.match(text, /^Oldest$/m);
  assert.match(text, /^ {2}DRAM +4\.0 MiB {2}0x1000 +1h01m {2}1$/m);
  assert.deepEqual(
    source.calls.map((c) => `${c.deviceId} ${c.sessionId.slice(0, 4)} ${c.sort} ${c.limit}`).sort(),
    ["0 abab age 10", "0 abab size 10"],
  );
  await app.press(ESC, "back to the list", (f) => f.includes("Device 1") && !f.includes("Oldest"));
});

test("a failed listing says why instead of hanging on Loading", async () => {
  const source = fixedSource();
  source.allocations = async () => {
    throw new Error("unexpected answer: HTTP 404");
  };
  const app = start(source);
  await app.until("the first frame", (f) => f.includes("Device 1"));
  await app.press(ENTER, "the error", (f) =>
    f.includes("Cannot list allocations: unexpected answer: HTTP 404"),
  );
});

test("help: ? shows the keys and the legend; any key closes it", async () => {
  const app = start(fixedSource());
  await app.until("the first frame", (f) => f.includes("Device 1"));
  await app.press("?", "the help", (f) => f.includes("Keys") && f.includes("Reading it"));
  assert.match(app.frame(), /Enter +its largest and oldest allocations/);
  assert.match(app.frame(), /chart: last 60 s, each cell the per-second maximum/);
  await app.press("x", "the list again", (f) => f.includes("Device 1") && !f.includes("Reading it"));
});

test("no server: says so and that it retries; the screen returns when the server does", async () => {
  const source = fixedSource({
    status: "no-server",
    summary: undefined,
    problem: "no allocation server at http://127.0.0.1:7477 (start one with `allocwatch serve`)",
  });
  const app = start(source);
  await app.until("the no-server screen", (f) => f.includes("Retrying every second"));
  // Wrapped at a space to fit 80 columns, nothing cut off.
  assert.match(
    app.frame(),
    /^no allocation server at http:\/\/127\.0\.0\.1:7477 \(start one with `allocwatch\nserve`\)$/m,
  );
  assert.match(app.frame(), /no server/);
  source.set({ status: "live", summary: fixedSource().snapshot().summary });
  await app.until("the live screen", (f) => f.includes("Device 1") && f.includes("live"));
});
