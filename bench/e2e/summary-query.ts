import { Agent, get } from "node:http";
import { ApiRoute } from "../../src/server/api-types.js";
import { ChurnStream } from "../fixtures/churn.js";
import { RawSession } from "../fixtures/raw-session.js";
import { SERVER_PROCESS_SCRIPT } from "../fixtures/scripts.js";
import type { AppliedReport, ServerProcessReady } from "../fixtures/server-process.js";
import type { Benchmark, OpenBenchmark } from "../harness/benchmark.js";
import { BenchChild } from "../harness/child.js";
import { BenchmarkFailedError } from "../harness/errors.js";
import { median } from "../harness/stats.js";

const SESSIONS = 100;
const REQUESTS_PER_RUN = 50;
const EVENTS_PER_FRAME = 2048;

/** One GET on a kept-alive connection; resolves with the full body's round trip, ns. */
export function timedGet(url: string, agent: Agent): Promise<{ ns: number; body: string }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    get(url, { agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const ns = Number(process.hrtime.bigint() - started);
        if (response.statusCode !== 200)
          reject(new BenchmarkFailedError(`${url} answered ${response.statusCode}`));
        else resolve({ ns, body: Buffer.concat(chunks).toString("utf8") });
      });
      response.on("error", reject);
    }).on("error", reject);
  });
}

/**
 * GET /api/v1/summary round trip (HTTP keep-alive, body fully read) against a server holding 1M live
 * allocations over 100 sessions (100 connections, 10k each). A run is 50 sequential requests; its
 * value is their median.
 */
export const summaryQuery: Benchmark = {
  name: "summary_query_ms",
  tier: "e2e",
  description:
    "GET /api/v1/summary with 1M live allocations over 100 sessions (median of 50 requests per run)",
  metrics: [{ name: "summary_query_ms", unit: "ms", target: 5, comparison: "<=" }],
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
        const session = await RawSession.open(server.ready.socketPath, [s % 8], `summary-${s}`);
        sessions.push(session);
        await session.writeFrames(new ChurnStream(s % 8, perSession, EVENTS_PER_FRAME).prefillFrames());
      }
      await server.request<AppliedReport>({
        type: "waitApplied",
        count: SESSIONS * perSession,
        timeoutMs: 120_000,
      });
    } catch (error) {
      await Promise.all(sessions.map((s) => s.close()));
      await server.stop();
      throw error;
    }
    const url = `${server.ready.httpUrl}${ApiRoute.SUMMARY}`;
    const first = JSON.parse((await timedGet(url, agent)).body) as { processes: unknown[] };
    if (first.processes.length < SESSIONS) {
      throw new BenchmarkFailedError(
        `summary lists ${first.processes.length} processes, expected ${SESSIONS}`,
      );
    }
    return {
      async runOnce() {
        const times: number[] = [];
        for (let i = 0; i < REQUESTS_PER_RUN; i++) times.push((await timedGet(url, agent)).ns / 1e6);
        return { summary_query_ms: median(times) };
      },
      async close() {
        agent.destroy();
        await Promise.all(sessions.map((s) => s.close()));
        await server.stop();
      },
    };
  },
};
