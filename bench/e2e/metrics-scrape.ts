import { Agent } from "node:http";
import { ApiRoute } from "../../src/server/api-types.js";
import { ChurnStream } from "../fixtures/churn.js";
import { RawSession } from "../fixtures/raw-session.js";
import { SERVER_PROCESS_SCRIPT } from "../fixtures/scripts.js";
import type { AppliedReport, ServerProcessReady } from "../fixtures/server-process.js";
import type { Benchmark, OpenBenchmark } from "../harness/benchmark.js";
import { BenchChild } from "../harness/child.js";
import { BenchmarkFailedError } from "../harness/errors.js";
import { median } from "../harness/stats.js";
import { timedGet } from "./summary-query.js";

const SESSIONS = 100;
const DEVICES = 8;
const SCRAPES_PER_RUN = 50;
const EVENTS_PER_FRAME = 2048;

/**
 * GET /metrics round trip (HTTP keep-alive, body fully read) against a server holding 1M live
 * allocations over 100 sessions on 8 devices, as Prometheus scrapes it: the figures come from the
 * incremental totals, so the cost follows devices and sessions, never allocations. A run is 50
 * sequential scrapes; its values are their median and their slowest.
 */
export const metricsScrape: Benchmark = {
  name: "metrics_scrape_ms",
  tier: "e2e",
  description:
    "GET /metrics with 1M live allocations over 100 sessions, 8 devices (median of 50 scrapes per run)",
  metrics: [
    { name: "metrics_scrape_ms", unit: "ms", target: 20, comparison: "<=" },
    { name: "metrics_scrape_max_ms", unit: "ms", comparison: "<=" },
    { name: "metrics_scrape_bytes", unit: "bytes", comparison: "<=" },
  ],
  async open(context): Promise<OpenBenchmark> {
    const perSession = context.quick ? 1000 : 10_000;
    // Every session comes from this one process: raise the server's sessions-per-process limit for it.
    const server = await BenchChild.start<ServerProcessReady>(SERVER_PROCESS_SCRIPT, {
      args: [String(SESSIONS)],
    });
    const sessions: RawSession[] = [];
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      context.progress(`filling ${SESSIONS} sessions × ${perSession} live allocations`);
      for (let s = 0; s < SESSIONS; s++) {
        const session = await RawSession.open(server.ready.socketPath, [s % DEVICES], `scrape-${s}`);
        sessions.push(session);
        await session.writeFrames(new ChurnStream(s % DEVICES, perSession, EVENTS_PER_FRAME).prefillFrames());
      }
      await server.request<AppliedReport>({
        type: "waitApplied",
        count: SESSIONS * perSession,
        timeoutMs: 120_000,
      });
    } catch (error) {
      agent.destroy();
      await Promise.all(sessions.map((s) => s.close()));
      await server.stop();
      throw error;
    }
    const url = `${server.ready.httpUrl}${ApiRoute.METRICS}`;
    const first = (await timedGet(url, agent)).body;
    const live = [...first.matchAll(/^allocwatch_allocations\{[^}]*\} (\d+)$/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    if (live !== SESSIONS * perSession) {
      throw new BenchmarkFailedError(
        `/metrics counts ${live} live allocations, expected ${SESSIONS * perSession}`,
      );
    }
    return {
      async runOnce() {
        const times: number[] = [];
        let bytes = 0;
        for (let i = 0; i < SCRAPES_PER_RUN; i++) {
          const { ns, body } = await timedGet(url, agent);
          times.push(ns / 1e6);
          bytes = Buffer.byteLength(body);
        }
        return {
          metrics_scrape_ms: median(times),
          metrics_scrape_max_ms: Math.max(...times),
          metrics_scrape_bytes: bytes,
        };
      },
      async close() {
        agent.destroy();
        await Promise.all(sessions.map((s) => s.close()));
        await server.stop();
      },
    };
  },
};
