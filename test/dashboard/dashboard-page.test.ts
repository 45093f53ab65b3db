// The web dashboard in a real browser (Chromium through playwright-core) against `allocwatch serve` fed by
// real demo processes: the cards show /api/v1/summary's numbers exactly, the map's largest free block is
// the memory-map API's, hovering the map names the owner, a new process's allocations appear within 1 s,
// CB bursts show in the chart's max band while used is 0 (L1's above its caches), the page logs no error,
// follows a restarted server, shows an inexact map's reason and both themes. Screenshots go
// to test-output/dashboard/ (ALLOCWATCH_TEST_OUTPUT overrides). Without Chromium the tests are skipped.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import type { AllocationsResponse, MemoryMapResponse, SummaryResponse } from "../../src/server/api-types.js";
import {
  freePort,
  getJson,
  processScope,
  type ServerProc,
  startDemoProcess,
  startServerProcess,
  summaryOf,
  waitFor,
} from "../e2e/harness.js";
import { writeRegionFile } from "../tt-shm/region-writer.js";
import { chromiumMissing, launchChromium } from "./browser.js";

const missing = chromiumMissing;
if (missing) console.log(`# ${missing}`);

const OUTPUT =
  process.env["ALLOCWATCH_TEST_OUTPUT"] ??
  fileURLToPath(new URL("../../../test-output/dashboard/", import.meta.url));

const { dir, procs } = processScope();
let server: ServerProc;
let browser: Browser | undefined;
let page: Page;
const consoleErrors: string[] = [];

before(async () => {
  if (missing) return;
  const socket = join(dir, "server.sock");
  // Device 1 is a tt-metal shared-memory region: counters without addresses, so its map is not exact.
  const shm = join(dir, "shm");
  mkdirSync(shm);
  writeRegionFile(shm, { layout: 4, asicId: 42n, deviceId: 1, totals: { DRAM: 1024 } });
  server = await startServerProcess(socket, await freePort(), ["--tt-shm", shm, "--no-hardware"]);
  procs.push(server);
  // A few forward passes, then hold: the bursts are in the series, and the numbers stand still.
  const first = startDemoProcess(socket, [
    "--index",
    "0",
    "--workers",
    "0",
    "--step-ms",
    "50",
    "--steps",
    "12",
    "--hold",
  ]);
  procs.push(first);
  await first.milestone("finished", 20_000);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  page.on("response", (response) => {
    if (response.status() >= 400) consoleErrors.push(`HTTP ${response.status()} for ${response.url()}`);
  });
  await page.goto(`${server.url}/?device=0&type=DRAM`);
  await page.waitForSelector('[data-testid="device-card"]', { timeout: 10_000 });
});

after(async () => {
  await browser?.close();
});

/** The figures a card shows: `${testid}/${type}` → data-bytes. */
function shownFigures(p: Page, deviceId: number): Promise<Record<string, number>> {
  return p.$$eval(
    `[data-testid="device-card"][data-device-id="${deviceId}"] [data-bytes][data-type]`,
    (elements) =>
      Object.fromEntries(
        elements.map((e) => [
          `${e.getAttribute("data-testid")}/${e.getAttribute("data-type")}`,
          Number(e.getAttribute("data-bytes")),
        ]),
      ),
  );
}

function expectedFigures(summary: SummaryResponse, deviceId: number): Record<string, number> {
  const device = summary.devices.find((d) => d.id === deviceId)!;
  const figures: Record<string, number> = {};
  for (const [type, usage] of Object.entries(device.memory)) {
    if (usage.total === 0 && usage.used === 0 && usage.peak === 0) continue;
    figures[`used/${type}`] = usage.used;
    figures[`total/${type}`] = usage.total;
    figures[`peak/${type}`] = usage.peak;
  }
  return figures;
}

test("each device card shows exactly /api/v1/summary's used, capacity and peak per memory type", {
  skip: missing,
}, async () => {
  const ready = await server.line((l) => l.startsWith("allocwatch server ready"), 5_000);
  assert.equal(
    ready,
    `allocwatch server ready: open ${server.url}/ (the dashboard)`,
    "serve names the page first",
  );
  const summary = await summaryOf(server);
  assert.ok(summary.devices.length > 0);
  assert.equal(await page.locator('[data-testid="device-card"]').count(), summary.devices.length);
  for (const device of summary.devices) {
    const want = expectedFigures(summary, device.id);
    assert.ok(Object.keys(want).length >= 3, "the demo device has memory to show");
    // The page is at most one stream message (250 ms) behind; nothing moves while the process holds.
    const shown = await waitFor("the card to match the summary", 5_000, async () => {
      const got = await shownFigures(page, device.id);
      return JSON.stringify(got) === JSON.stringify(want) ? got : undefined;
    }).catch(() => shownFigures(page, device.id));
    assert.deepEqual(shown, want);
  }
});

test("the memory map's largest free block is the API's, hovering names the owner, a click shows details", {
  skip: missing,
}, async () => {
  const map = await getJson<MemoryMapResponse>(`${server.url}/api/v1/devices/0/memory-map?type=DRAM`);
  assert.equal(map.exact, true, map.reason);
  const shown = await waitFor("the map's largest free block", 5_000, async () => {
    const bytes = await page
      .getAttribute('[data-testid="largest-free-block"]', "data-bytes")
      .catch(() => null);
    return bytes !== null && Number(bytes) === map.largestFreeBlock ? Number(bytes) : undefined;
  }).catch(() => page.getAttribute('[data-testid="largest-free-block"]', "data-bytes"));
  assert.equal(Number(shown), map.largestFreeBlock);
  assert.ok(map.extents.length > 0, "the held process keeps its weights in DRAM");
  const extent = page.locator('[data-testid="map-extent"]').first();
  const pid = Number(await extent.getAttribute("data-pid"));
  const owner = map.extents.find((e) => e.pid === pid)!;
  await extent.hover();
  const tooltip = page.locator('[data-testid="map-tooltip"]');
  await tooltip.waitFor({ state: "visible", timeout: 2_000 });
  const text = await tooltip.textContent();
  assert.match(text ?? "", new RegExp(`${owner.processName} \\(pid ${pid}\\)`));
  assert.match(text ?? "", /at 0x[0-9a-f]{8} · age /);
  await extent.click();
  assert.match((await page.textContent('[data-testid="buffer-details"]')) ?? "", /allocation \d+/);
  mkdirSync(OUTPUT, { recursive: true });
  await page.locator('[data-testid="memory-map"]').screenshot({ path: join(OUTPUT, "memory-map.png") });
});

test("CB bursts show in the chart's max band in seconds that end with 0 used, L1's above its caches", {
  skip: missing,
}, async () => {
  for (const type of ["CB", "L1"]) {
    await page.selectOption('[data-testid="type-select"]', type);
    assert.match(page.url(), new RegExp(`[?&]type=${type}(&|$)`), "the type is in the URL");
    const chart = (await page.evaluate(() =>
      (
        globalThis as unknown as { allocwatchDashboard: { chartData(id: number): unknown } }
      ).allocwatchDashboard.chartData(0),
    )) as { type: string; used: number[]; max: number[] };
    assert.equal(chart.type, type);
    // CB is all bursts (used 0 at every second's end); L1 keeps the layers' caches, and the passes'
    // activations show above them.
    const bursts = chart.max.filter(
      (max, i) => max > chart.used[i]! && (type === "L1" || chart.used[i] === 0),
    );
    assert.ok(bursts.length > 0, `${type}: no second with a burst in its max band; ${JSON.stringify(chart)}`);
  }
  await page.selectOption('[data-testid="type-select"]', "DRAM");
});

test("a new process's allocations appear on the page within 1 s of the server having them", {
  skip: missing,
}, async () => {
  const socket = join(dir, "server.sock");
  const second = startDemoProcess(socket, [
    "--index",
    "1",
    "--workers",
    "0",
    "--step-ms",
    "100",
    "--steps",
    "5",
    "--hold",
  ]);
  procs.push(second);
  // The row with the process's bytes on device 0 (what its first allocations put there).
  const cell = `[data-testid="process-row"][data-pid="${second.pid}"] td[data-bytes]`;
  const row = waitFor("the page to show the new process's bytes", 15_000, async () => {
    const bytes = await page.locator(cell).getAttribute("data-bytes", { timeout: 100 });
    return Number(bytes ?? 0) > 0 ? Date.now() : undefined;
  });
  const onServer = await waitFor("the server to have the new process's allocations", 15_000, async () => {
    const s = await summaryOf(server);
    const p = s.processes.find((x) => x.pid === second.pid);
    return p?.devices.some((d) => d.allocations > 0) ? Date.now() : undefined;
  });
  const lagMs = (await row) - onServer;
  assert.ok(lagMs <= 1000, `the page showed it ${lagMs} ms after the server had it`);
  assert.ok((await page.locator('[data-testid="process-row"]').count()) >= 2);
  await second.milestone("finished", 15_000);
  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: join(OUTPUT, "dashboard.png"), fullPage: true });
});

test("the processes table sorts by the clicked column, with a sparkline per row; the largest buffers are the API's", {
  skip: missing,
}, async () => {
  const pids = () =>
    page.$$eval('[data-testid="process-row"]', (rows) => rows.map((r) => Number(r.getAttribute("data-pid"))));
  assert.ok((await pids()).length >= 2);
  // Names and pids sort lowest first on the first click, sizes and counts highest first; a second click
  // turns the order round.
  await page.click('th[data-sort="pid"]');
  const ascending = await pids();
  assert.deepEqual(
    ascending,
    [...ascending].sort((a, b) => a - b),
    "first click on pid: lowest first",
  );
  await page.click('th[data-sort="pid"]');
  const descending = await pids();
  assert.deepEqual(
    descending,
    [...descending].sort((a, b) => b - a),
    "second click: highest first",
  );
  assert.notDeepEqual(ascending, descending);
  assert.equal(
    await page.locator('[data-testid="process-row"] [data-testid="sparkline"]').count(),
    ascending.length,
  );
  const largest = await getJson<AllocationsResponse>(
    `${server.url}/api/v1/devices/0/allocations?sort=size&limit=8`,
  );
  const shown = await waitFor("the largest buffers to match the API", 5_000, async () => {
    const list = await page.$$eval('[data-testid="largest-buffers"] [data-testid="buffer"]', (items) =>
      items.map((i) => [
        Number(i.getAttribute("data-pid")),
        Number(i.getAttribute("data-bytes")),
        i.getAttribute("data-context"),
      ]),
    );
    const expected = largest.allocations.map((a) => [a.pid, a.sizeBytes, a.context]);
    return JSON.stringify(list) === JSON.stringify(expected) ? list : undefined;
  });
  assert.equal(shown.length, largest.allocations.length);
  // The demo names its operations: the largest buffers (weights, logits) carry a TT-NN name.
  assert.ok(
    largest.allocations.every((a) => a.context.startsWith("ttnn.")),
    JSON.stringify(largest.allocations),
  );
});

test("a map the server cannot place shows its reason instead; the device is in the URL", {
  skip: missing,
}, async () => {
  await waitFor("device 1 (the region) to show", 5_000, async () =>
    (await page.locator('[data-testid="device-card"][data-device-id="1"]').count()) > 0 ? true : undefined,
  );
  await page.selectOption('[data-testid="device-select"]', "1");
  assert.match(page.url(), /[?&]device=1(&|$)/);
  const map = await getJson<MemoryMapResponse>(`${server.url}/api/v1/devices/1/memory-map?type=DRAM`);
  assert.equal(map.exact, false);
  const reason = page.locator('[data-testid="map-reason"]');
  await reason.waitFor({ state: "visible", timeout: 5_000 });
  assert.equal(await reason.textContent(), map.reason);
  assert.equal(await page.locator('[data-testid="map-extent"]').count(), 0);
  await page.selectOption('[data-testid="device-select"]', "0");
  await page.locator('[data-testid="map-extent"]').first().waitFor({ timeout: 5_000 });
});

test("the theme follows prefers-color-scheme, and the toggle switches and remembers it", {
  skip: missing,
}, async () => {
  const dark = await browser!.newPage({ colorScheme: "dark", viewport: { width: 1280, height: 800 } });
  try {
    await dark.goto(`${server.url}/?device=0&type=DRAM`);
    await dark.waitForSelector('[data-testid="device-card"]');
    const theme = () =>
      dark.evaluate(
        () =>
          (globalThis as unknown as { document: { documentElement: { dataset: Record<string, string> } } })
            .document.documentElement.dataset["theme"],
      );
    assert.equal(await theme(), "dark");
    await dark.click('[data-testid="theme-toggle"]');
    assert.equal(await theme(), "light");
    await dark.reload();
    await dark.waitForSelector('[data-testid="device-card"]');
    assert.equal(await theme(), "light", "the choice outlives a reload");
    await dark.click('[data-testid="theme-toggle"]');
    await dark
      .locator('[data-testid="memory-map"]')
      .screenshot({ path: join(OUTPUT, "memory-map-dark.png") });
  } finally {
    await dark.close();
  }
});

test("the page logged no error", { skip: missing }, () => {
  assert.deepEqual(consoleErrors, []);
});

// Last: a stopped server makes the browser log failed requests, which the test above must not see.
test("the page follows a restarted server: it says so, reconnects and shows the new state", {
  skip: missing,
}, async () => {
  const port = Number(new URL(server.url).port);
  server.kill("SIGTERM");
  await server.exited;
  await page.locator('[data-testid="connection"][data-state="reconnecting"]').waitFor({ timeout: 10_000 });
  const socket = join(dir, "server-2.sock");
  server = await startServerProcess(socket, port, ["--no-tt-shm", "--no-hardware"]);
  procs.push(server);
  const third = startDemoProcess(socket, ["--index", "2", "--workers", "0", "--steps", "1", "--hold"]);
  procs.push(third);
  await page.locator('[data-testid="connection"][data-state="live"]').waitFor({ timeout: 15_000 });
  await page.locator(`[data-testid="process-row"][data-pid="${third.pid}"]`).waitFor({ timeout: 15_000 });
});
