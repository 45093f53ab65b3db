// top's live feed against a real server process and a real workload process: the stream's summaries,
// each device's last minute from /api/v1/series, allocations for the drill-down, and the server going
// away (says so, retries) — and nothing listening at all.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LiveFeed } from "../../src/monitor/top/live-feed.js";
import { freePort, processScope, startServerWithSteadyDemo } from "../e2e/harness.js";
import { waitFor } from "../support/wait-for.js";

const scope = processScope();

test("follows the stream, charts from the series, lists allocations, notices the server leave", {
  timeout: 60_000,
}, async () => {
  const { server, client } = await startServerWithSteadyDemo(scope, "feed.sock");
  const feed = new LiveFeed(server.url, { retryMs: 100 });
  feed.start();
  try {
    const changes = { count: 0 };
    const unsubscribe = feed.subscribe(() => changes.count++);
    const process = await waitFor(
      () => {
        const s = feed.snapshot();
        return s.status === "live" ? s.summary?.processes.find((p) => p.pid === client.pid) : undefined;
      },
      {
        what: "the demo process in a live summary",
        timeoutMs: 15_000,
        detail: () => JSON.stringify(feed.snapshot().status),
      },
    );
    assert.deepEqual(
      feed
        .snapshot()
        .summary!.devices.map((d) => d.id)
        .sort(),
      [0, 1],
    );
    // The chart's history: DRAM in use during the last seconds (from /api/v1/series and the stream).
    await waitFor(
      () =>
        feed
          .snapshot()
          .series.maxPerSecond(0, "DRAM", Date.now())
          .some((v) => v > 0),
      {
        what: "DRAM history for device 0",
        timeoutMs: 15_000,
      },
    );
    const count = changes.count;
    await waitFor(() => changes.count > count + 2, { what: "more stream messages", timeoutMs: 15_000 });
    unsubscribe();

    const largest = await feed.allocations(0, process.sessionId, "size", 5);
    assert.ok(largest.allocations.length > 0 && largest.allocations.length <= 5);
    assert.ok(largest.total >= largest.allocations.length);
    const sizes = largest.allocations.map((a) => a.sizeBytes);
    assert.deepEqual(
      sizes,
      [...sizes].sort((a, b) => b - a),
    );
    assert.ok(largest.allocations.every((a) => a.pid === client.pid && a.deviceId === 0));
    const oldest = await feed.allocations(0, process.sessionId, "age", 5);
    const ages = oldest.allocations.map((a) => a.ageMs);
    assert.deepEqual(
      ages,
      [...ages].sort((a, b) => b - a),
    );
    await assert.rejects(feed.allocations(0, "not-a-session", "size", 5), /HTTP 400/);

    server.kill("SIGTERM");
    await server.exited;
    const gone = await waitFor(
      () => {
        const s = feed.snapshot();
        return s.status === "no-server" ? s : undefined;
      },
      { what: "the feed to notice the server left", timeoutMs: 15_000 },
    );
    assert.equal(gone.problem, `no allocation server at ${server.url} (start one with \`allocwatch serve\`)`);
  } finally {
    await feed.stop();
  }
});

test("nothing listening: no-server with the address, and stop() ends the retry loop", {
  timeout: 30_000,
}, async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const feed = new LiveFeed(url, { retryMs: 50 });
  feed.start();
  const seen = await waitFor(
    () => {
      const s = feed.snapshot();
      return s.status === "no-server" ? s : undefined;
    },
    { what: "no-server" },
  );
  assert.equal(seen.summary, undefined);
  assert.match(seen.problem ?? "", new RegExp(`no allocation server at ${url.replace(/\./g, "\\.")}`));
  // stop() resolves only once the retry loop has ended (it would hang here otherwise).
  await feed.stop();
  await feed.stop();
});
