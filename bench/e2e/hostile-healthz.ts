import { healthzLatencyMs } from "../fixtures/healthz-probe.js";
import type { HostileCounts } from "../fixtures/hostile-peers.js";
import { HOSTILE_PROCESS_SCRIPT, SERVER_PROCESS_SCRIPT } from "../fixtures/scripts.js";
import type { ServerProcessReady } from "../fixtures/server-process.js";
import type { Benchmark, OpenBenchmark } from "../harness/benchmark.js";
import { BenchChild } from "../harness/child.js";
import { percentile } from "../harness/stats.js";

const HOSTILE_CONNECTIONS = 100;
/** A health checker's pace: one GET /healthz every 20 ms, each on a fresh connection. */
const PROBE_INTERVAL_MS = 20;

/**
 * The server's health latency while 100 hostile connections play the worst cases of docs/SECURITY.md
 * (far-ahead sequence numbers, every device id, nearly complete 1 MiB frames, a trickled HELLO,
 * non-reading sessions, session hijacks, garbage) in another process, reconnecting whenever closed.
 */
export const hostileHealthz: Benchmark = {
  name: "hostile_healthz_p99_ms",
  tier: "e2e",
  description: `GET /healthz latency while ${HOSTILE_CONNECTIONS} hostile connections play the worst cases`,
  metrics: [
    { name: "hostile_healthz_p99_ms", unit: "ms", target: 50, comparison: "<=" },
    { name: "hostile_healthz_p50_ms", unit: "ms", comparison: "<=" },
    { name: "hostile_connections_closed", unit: "connections", comparison: ">=" },
  ],
  async open(context): Promise<OpenBenchmark> {
    const durationMs = context.quick ? 1000 : 3000;
    const server = await BenchChild.start<ServerProcessReady>(SERVER_PROCESS_SCRIPT);
    let peers: BenchChild;
    try {
      peers = await BenchChild.start(HOSTILE_PROCESS_SCRIPT);
    } catch (error) {
      await server.stop();
      throw error;
    }
    const { socketPath, httpUrl } = server.ready;
    let seed = 1;
    return {
      async runOnce() {
        await peers.request({
          type: "start",
          socketPath,
          httpUrl,
          connections: HOSTILE_CONNECTIONS,
          mode: "worst",
          seed: seed++,
        });
        const latenciesMs: number[] = [];
        let counts: HostileCounts;
        try {
          const deadline = performance.now() + durationMs;
          while (performance.now() < deadline) {
            const started = performance.now();
            latenciesMs.push(await healthzLatencyMs(httpUrl));
            const rest = PROBE_INTERVAL_MS - (performance.now() - started);
            if (rest > 0) await new Promise((resolve) => setTimeout(resolve, rest));
          }
        } finally {
          counts = await peers.request<HostileCounts>({ type: "stop" });
        }
        return {
          hostile_healthz_p99_ms: percentile(latenciesMs, 99),
          hostile_healthz_p50_ms: percentile(latenciesMs, 50),
          hostile_connections_closed: counts.closedByServer,
        };
      },
      async close() {
        await peers.stop();
        await server.stop();
      },
    };
  },
};
