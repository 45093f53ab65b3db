import { Agent, get, type IncomingMessage } from "node:http";
import { ApiRoute } from "../../src/server/api-types.js";
import { ChurnStream } from "../fixtures/churn.js";
import { RawSession } from "../fixtures/raw-session.js";
import { SERVER_PROCESS_SCRIPT } from "../fixtures/scripts.js";
import type { AppliedReport, CpuReport, ServerProcessReady } from "../fixtures/server-process.js";
import type { Benchmark, OpenBenchmark } from "../harness/benchmark.js";
import { BenchChild } from "../harness/child.js";
import { BenchmarkFailedError } from "../harness/errors.js";

const STREAM_CLIENTS = 10;
const SESSIONS = 2;
const LIVE_PER_SESSION = 50_000;
const EVENTS_PER_FRAME = 2048;
/** The ingest rate asked for; what was reached is reported (`stream_ingest_events_per_s`). */
const TARGET_EVENTS_PER_S = 1_000_000;
const PACE_TICK_MS = 5;

/** One open `/api/v1/stream` client that reads everything (a dashboard). */
interface StreamReader {
  response: IncomingMessage;
  bytes: number;
  messages: number;
}

function openStream(url: string, agent: Agent): Promise<StreamReader> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (response) => {
      if (response.statusCode !== 200) {
        reject(new BenchmarkFailedError(`${url} answered ${response.statusCode}`));
        return;
      }
      const reader: StreamReader = { response, bytes: 0, messages: 0 };
      response.on("data", (chunk: Buffer) => {
        reader.bytes += chunk.length;
        for (const byte of chunk) if (byte === 0x0a) reader.messages += 0.5; // "\n\n" ends a message
        if (reader.messages >= 1) resolve(reader);
      });
      response.on("error", () => {});
    }).on("error", reject);
  });
}

/**
 * Server CPU (% of one core) attributable to the live stream: the server process's CPU time over a
 * paced ingest of ~1M events/s (2 sessions, 50k live each) with 10 clients reading `/api/v1/stream`,
 * minus the mean of the same phase without clients just before and just after it.
 */
export const streamCpu: Benchmark = {
  name: "stream_server_cpu_pct",
  tier: "e2e",
  description:
    "server CPU (% of one core) added by 10 /api/v1/stream clients during a paced ~1M events/s ingest " +
    "(with minus without clients, same rate)",
  metrics: [
    { name: "stream_server_cpu_pct", unit: "% core", target: 5, comparison: "<=" },
    { name: "stream_server_cpu_pct_without_clients", unit: "% core", comparison: "<=" },
    { name: "stream_ingest_events_per_s", unit: "events/s", comparison: ">=" },
  ],
  async open(context): Promise<OpenBenchmark> {
    const phaseMs = context.quick ? 1000 : 3000;
    const server = await BenchChild.start<ServerProcessReady>(SERVER_PROCESS_SCRIPT);
    const sessions: RawSession[] = [];
    const streams: ChurnStream[] = [];
    try {
      for (let s = 0; s < SESSIONS; s++) {
        sessions.push(await RawSession.open(server.ready.socketPath, [s], `stream-cpu-${s}`));
        streams.push(new ChurnStream(s, LIVE_PER_SESSION, EVENTS_PER_FRAME));
      }
      await Promise.all(sessions.map((session, s) => session.writeFrames(streams[s]!.prefillFrames())));
      await server.request<AppliedReport>({
        type: "waitApplied",
        count: SESSIONS * LIVE_PER_SESSION,
        timeoutMs: 60_000,
      });
    } catch (error) {
      await Promise.all(sessions.map((s) => s.close()));
      await server.stop();
      throw error;
    }

    /** Paced ingest for `phaseMs`: server CPU %, applied events/s. */
    const phase = async (): Promise<{ cpuPct: number; eventsPerS: number }> => {
      const before = await server.request<CpuReport>({ type: "cpu" });
      const started = performance.now();
      let sent = 0;
      for (;;) {
        const elapsed = performance.now() - started;
        if (elapsed >= phaseMs) break;
        const due = Math.floor((TARGET_EVENTS_PER_S * elapsed) / 1000) - sent;
        if (due >= 2 * SESSIONS) {
          const perSession = Math.floor(due / SESSIONS / 2) * 2;
          await Promise.all(
            sessions.map((session, s) => session.writeFrames(streams[s]!.churnFrames(perSession))),
          );
          sent += perSession * SESSIONS;
        }
        await new Promise((resolve) => setTimeout(resolve, PACE_TICK_MS));
      }
      const after = await server.request<CpuReport>({ type: "cpu" });
      const wallUs = (after.atNs - before.atNs) / 1000;
      return {
        cpuPct: ((after.cpuUs - before.cpuUs) / wallUs) * 100,
        eventsPerS: ((after.eventsApplied - before.eventsApplied) / wallUs) * 1e6,
      };
    };

    const url = `${server.ready.httpUrl}${ApiRoute.STREAM}`;
    return {
      async runOnce() {
        // Without clients before and after the phase with them: drifts of the machine's load cancel.
        const before = await phase();
        const agent = new Agent({ keepAlive: false, maxSockets: STREAM_CLIENTS });
        const readers: StreamReader[] = [];
        try {
          for (let i = 0; i < STREAM_CLIENTS; i++) readers.push(await openStream(url, agent));
          const withClients = await phase();
          for (const reader of readers) reader.response.destroy();
          const after = await phase();
          const without = {
            cpuPct: (before.cpuPct + after.cpuPct) / 2,
          };
          const received = readers.reduce((n, r) => n + r.messages, 0);
          if (received < STREAM_CLIENTS * 2) {
            throw new BenchmarkFailedError(`stream clients received only ${received} messages`);
          }
          return {
            stream_server_cpu_pct: withClients.cpuPct - without.cpuPct,
            stream_server_cpu_pct_without_clients: without.cpuPct,
            stream_ingest_events_per_s: withClients.eventsPerS,
          };
        } finally {
          for (const reader of readers) reader.response.destroy();
          agent.destroy();
        }
      },
      async close() {
        await Promise.all(sessions.map((s) => s.close()));
        await server.stop();
      },
    };
  },
};
