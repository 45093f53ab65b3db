// The server-wide live-allocation limit holds across ingest shards as one limit, not a share per shard:
// two processes on two shards, 80 ALLOCs each against --max-live-allocations 100: together they keep
// close to 100 (each shard reserves from one shared count, live-pool.ts), never more, and the rest are
// refused and counted with no anomaly.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { waitFor } from "../../support/wait-for.js";
import { startTestServer } from "../test-server.js";

const SCRIPT = fileURLToPath(new URL("./alloc-process.js", import.meta.url));

test("--max-live-allocations is one limit over every ingest shard", async (t) => {
  const server = await startTestServer({ ingestThreads: 2, maxLiveAllocations: 100 });
  t.after(() => server.stop());
  const children: ChildProcess[] = [];
  t.after(() => {
    for (const child of children) child.kill();
  });
  await Promise.all(
    [0, 1].map(async () => {
      const child = spawn(process.execPath, [SCRIPT, server.socketPath, "80"], {
        stdio: ["pipe", "pipe", "inherit"],
      });
      children.push(child);
      await once(createInterface({ input: child.stdout! }), "line");
    }),
  );
  await waitFor(() => server.queries.summary().server.eventsApplied === 160, { what: "160 ALLOCs handled" });
  const summary = server.queries.summary();
  const stored = summary.server.liveAllocations;
  assert.ok(stored <= 100, `${stored} live allocations stored past the limit of 100`);
  // Reservations come in chunks of 4 here (100 / (8 × 3 shards)): at most a chunk's rest unused per shard.
  assert.ok(stored >= 100 - 3 * 3, `only ${stored} stored: the limit was split, not shared`);
  assert.equal(summary.server.allocationsRefused, 160 - stored);
  assert.equal(summary.devices.find((d) => d.id === 0)?.allocations, stored);
  assert.equal(summary.processes.length, 2);
  assert.equal(server.queries.anomalies().total, 0);
  assert.equal(summary.devices.find((d) => d.id === 0)?.overLimit, true);
});
