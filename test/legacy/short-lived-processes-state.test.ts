// Rounds of short-lived legacy processes (1, then 8 at once, again and again) against one server: after
// each round the server holds what it held after the first (issue 17's firehose, whose rate was seen to
// fall across rounds on one server). What a leak would keep: sessions, connections, listed processes,
// live allocations, usage-series figures, legacy live keys.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../support/repo-files.js";
import { waitFor } from "../support/wait-for.js";
import { type LegacyTestServer, startLegacyServer } from "./legacy-server.js";

const script = join(repoRoot(import.meta.url), "test/legacy/firehose_client.py");
const PAIRS = 2000;

function runClient(socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("python3", [script, socketPath, String(PAIRS)], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`client exited with ${code}`))));
  });
}

interface HeldState {
  sessions: number;
  legacyConnections: number;
  processes: number;
  liveAllocations: number;
  devices: number;
}

async function held(server: LegacyTestServer): Promise<HeldState> {
  const summary = await server.summary();
  return {
    sessions: server.sessions.size,
    legacyConnections: server.legacy!.connectionCount,
    processes: summary.processes.length,
    liveAllocations: summary.devices.reduce((n, d) => n + d.allocations, 0),
    devices: summary.devices.length,
  };
}

async function round(server: LegacyTestServer, processes: number, appliedBefore: number): Promise<number> {
  await Promise.all(Array.from({ length: processes }, () => runClient(server.legacyPath)));
  const applied = appliedBefore + processes * PAIRS * 2;
  await waitFor(
    async () => {
      const s = await held(server);
      return (
        server.queries.summary().server.eventsApplied === applied &&
        s.sessions === 0 &&
        s.legacyConnections === 0
      );
    },
    {
      what: `every frame of ${processes} exited process(es) applied and their sessions released`,
      timeoutMs: 20_000,
    },
  );
  return applied;
}

test("rounds of short-lived legacy processes leave the server holding what it held after the first", async (t) => {
  const server = await startLegacyServer({ frame: 144 });
  t.after(() => server.stop());
  let applied = await round(server, 1, 0);
  const baseline = await held(server);
  assert.deepEqual(
    { ...baseline, devices: 0 },
    {
      sessions: 0,
      legacyConnections: 0,
      processes: 0,
      liveAllocations: 0,
      devices: 0,
    },
  );
  for (const processes of [8, 1, 8, 1]) {
    applied = await round(server, processes, applied);
    assert.deepEqual(await held(server), baseline, `after a round of ${processes} process(es)`);
  }
  const stats = server.legacy!.stats;
  assert.equal(stats.allocations, applied / 2);
  assert.equal(stats.frees, applied / 2);
  assert.equal(stats.unknownFrees + stats.sharedAllocations + stats.sharedFrees, 0);
});
