// The dashboard's legacy line: with the legacy adapter on (`serve --legacy-socket`), the header shows its
// connections and what only the server sees go wrong, a refused tt-metal client first (it dies of
// SIGPIPE). In a real browser (Chromium through playwright-core); skipped without Chromium.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import type { Browser } from "playwright-core";
import { freePort, processScope, startServerProcess, summaryOf, waitFor } from "../e2e/harness.js";
import { RawLegacyClient } from "../legacy/legacy-server.js";
import { chromiumMissing, launchChromium } from "./browser.js";

const missing = chromiumMissing;

const { dir, procs } = processScope();
let browser: Browser | undefined;
after(async () => {
  await browser?.close();
});

test("the legacy line counts connections and a refused one, marked as trouble", {
  skip: missing,
  timeout: 60_000,
}, async () => {
  const legacyPath = join(dir, "tt.sock");
  const server = await startServerProcess(join(dir, "server.sock"), await freePort(), [
    ...["--no-tt-shm", "--no-hardware", "--legacy-socket", legacyPath, "--legacy-max-connections", "1"],
  ]);
  procs.push(server);
  const admitted = await RawLegacyClient.connect(legacyPath);
  await waitFor("the legacy connection counted", 10_000, async () =>
    (await summaryOf(server)).server.legacy?.connections === 1 ? true : undefined,
  );
  const refused = await RawLegacyClient.connect(legacyPath);
  await refused.closed;
  browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${server.url}/`);
  const line = page.locator('[data-testid="legacy-status"]');
  await line.waitFor({ state: "visible", timeout: 10_000 });
  assert.equal(await line.textContent(), "legacy: 1 connected · 1 refused · 0 quarantined · 0 unknown frees");
  assert.match((await line.getAttribute("class")) ?? "", /\balert\b/);
  assert.match(
    (await line.getAttribute("title")) ?? "",
    new RegExp(`on ${legacyPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
  );
  admitted.close();
});
