// The dashboard flags a device whose figures are lower bounds: a process went over the server's
// live-allocation limit there (`serve --max-live-allocations-per-session`), in a real browser (Chromium
// through playwright-core) against `allocwatch serve`. Without Chromium the test is skipped.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Browser } from "playwright-core";
import { encodeEvents } from "../../src/protocol/encode-frame.js";
import { freePort, processScope, startServerProcess, summaryOf, waitFor } from "../e2e/harness.js";
import { RawClient, TEST_DEVICE, testEvent } from "../server/raw-client.js";
import { chromiumMissing, launchChromium } from "./browser.js";

const missing = chromiumMissing;

const { dir, procs } = processScope();
let browser: Browser | undefined;
after(async () => {
  await browser?.close();
});

test("a device over the live-allocation limit carries an 'over limit' badge; one within it does not", {
  skip: missing,
  timeout: 60_000,
}, async () => {
  const socket = join(dir, "server.sock");
  const server = await startServerProcess(socket, await freePort(), [
    ...["--no-tt-shm", "--no-hardware", "--max-live-allocations-per-session", "3"],
  ]);
  procs.push(server);
  // Device 0: five ALLOCs, two refused. Device 2 (another session): one ALLOC, within the limit.
  const over = await RawClient.handshake(socket);
  over.send(encodeEvents([1, 2, 3, 4, 5].map((seq) => testEvent(seq))));
  const within = await RawClient.handshake(socket, { devices: [{ ...TEST_DEVICE, deviceId: 2 }] });
  within.send(encodeEvents([testEvent(1, 2)]));
  await waitFor("device 0 over its limit, device 2 with its allocation", 10_000, async () => {
    const s = await summaryOf(server);
    const d0 = s.devices.find((d) => d.id === 0);
    const d2 = s.devices.find((d) => d.id === 2);
    return d0?.overLimit === true && d2 !== undefined && d2.memory.DRAM.allocations === 1 ? s : undefined;
  });
  browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${server.url}/`);
  const badge = page.locator(
    '[data-testid="device-card"][data-device-id="0"] [data-testid="over-limit-badge"]',
  );
  await badge.waitFor({ timeout: 10_000 });
  assert.equal(await badge.textContent(), "over limit");
  assert.match((await badge.getAttribute("title")) ?? "", /lower bounds/);
  await page.locator('[data-testid="device-card"][data-device-id="2"]').waitFor({ timeout: 10_000 });
  assert.equal(
    await page
      .locator('[data-testid="device-card"][data-device-id="2"] [data-testid="over-limit-badge"]')
      .count(),
    0,
  );
  over.destroy();
  within.destroy();
});
