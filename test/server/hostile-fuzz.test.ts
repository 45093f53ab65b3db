// docs/DESIGN.md invariant 4 against a hostile host (docs/SECURITY.md): 50 connections send random
// valid-looking frames (every fifth plays a worst case: far-ahead seqs, every device id, partial 1 MiB
// frames, trickled HELLOs, non-readers, hijacks of the canary's session, garbage) for 20 s, while a
// canary process reports through the real client. The server's RSS stays under its bound, /healthz
// answers fast throughout, and the canary's view is exact at the end.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { healthzLatencyMs } from "../../bench/fixtures/healthz-probe.js";
import type { HostileCounts } from "../../bench/fixtures/hostile-peers.js";
import type { PacedReport } from "../../bench/fixtures/runtime-process.js";
import {
  HOSTILE_PROCESS_SCRIPT,
  RUNTIME_PROCESS_SCRIPT,
  SERVER_PROCESS_SCRIPT,
} from "../../bench/fixtures/scripts.js";
import type { ServerProcessReady } from "../../bench/fixtures/server-process.js";
import { BenchChild } from "../../bench/harness/child.js";
import type { SummaryResponse } from "../../src/server/api-types.js";
import { waitFor } from "../support/wait-for.js";

const HOSTILE_CONNECTIONS = 50;
const RUN_MS = 20_000;
/** The documented bound (docs/SECURITY.md): every per-peer structure is capped well below it. */
const SERVER_RSS_BOUND_BYTES = 512 * 1024 * 1024;
const HEALTHZ_P99_BOUND_MS = 50;
const PROBE_INTERVAL_MS = 50;

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = /VmRSS:\s+(\d+) kB/.exec(status);
  return kib === null ? 0 : Number(kib[1]) * 1024;
}

async function summary(httpUrl: string): Promise<SummaryResponse> {
  const response = await fetch(`${httpUrl}/api/v1/summary`);
  return (await response.json()) as SummaryResponse;
}

test("50 hostile connections for 20 s: bounded RSS, /healthz p99 under 50 ms, the canary exact", {
  timeout: 90_000,
}, async (t) => {
  const server = await BenchChild.start<ServerProcessReady>(SERVER_PROCESS_SCRIPT);
  const children: BenchChild[] = [server];
  try {
    const { socketPath, httpUrl } = server.ready;
    const canary = await BenchChild.start<{ sessionId: string }>(RUNTIME_PROCESS_SCRIPT, {
      args: [socketPath, "200"],
    });
    children.push(canary);
    const peers = await BenchChild.start(HOSTILE_PROCESS_SCRIPT);
    children.push(peers);
    await peers.request({
      type: "start",
      socketPath,
      httpUrl,
      connections: HOSTILE_CONNECTIONS,
      mode: "mixed",
      seed: 1,
    });

    const canaryRun = canary.request<PacedReport>({
      type: "paced",
      eventsPerSecond: 20_000,
      durationMs: RUN_MS,
    });
    const latenciesMs: number[] = [];
    let maxRss = 0;
    const deadline = performance.now() + RUN_MS;
    while (performance.now() < deadline) {
      latenciesMs.push(await healthzLatencyMs(httpUrl));
      maxRss = Math.max(maxRss, rssBytes(server.process.pid!));
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
    }
    const report = await canaryRun;
    const counts = await peers.request<HostileCounts>({ type: "stop" });

    latenciesMs.sort((a, b) => a - b);
    const p99 = latenciesMs[Math.min(latenciesMs.length - 1, Math.ceil(latenciesMs.length * 0.99) - 1)]!;
    t.diagnostic(
      `/healthz p99 ${p99.toFixed(1)} ms over ${latenciesMs.length} probes; server RSS max ` +
        `${(maxRss / 2 ** 20).toFixed(0)} MiB; hostile connections opened ${counts.opened}, closed by the ` +
        `server ${counts.closedByServer}; canary ALLOCs ${report.allocationIds.length}`,
    );
    assert.ok(counts.opened >= HOSTILE_CONNECTIONS, `only ${counts.opened} hostile connections opened`);
    assert.ok(maxRss < SERVER_RSS_BOUND_BYTES, `server RSS reached ${(maxRss / 2 ** 20).toFixed(0)} MiB`);
    assert.ok(p99 < HEALTHZ_P99_BOUND_MS, `/healthz p99 ${p99.toFixed(1)} ms over ${latenciesMs.length}`);
    assert.ok(report.allocationIds.length > 100_000, "the canary kept allocating");

    // The canary's view: exactly its live set, however the hostile peers tried to disturb it.
    const expected = await canary.request<{ pid: number; allocations: number; dramBytes: number }>({
      type: "liveSet",
    });
    const view = await waitFor(
      async () => {
        const s = await summary(httpUrl);
        const mine = s.processes.filter((p) => p.pid === expected.pid);
        const device = mine.length === 1 ? mine[0]!.devices.find((d) => d.id === 0) : undefined;
        return device !== undefined &&
          device.allocations === expected.allocations &&
          device.used.DRAM === expected.dramBytes
          ? device
          : undefined;
      },
      { what: "the canary's exact live set on the server", timeoutMs: 15_000 },
    );
    assert.equal(view.allocations, 200);
  } finally {
    for (const child of children.reverse()) await child.stop();
  }
});
