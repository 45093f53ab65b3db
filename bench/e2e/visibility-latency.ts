import type { PacedReport } from "../fixtures/runtime-process.js";
import { RUNTIME_PROCESS_SCRIPT, SERVER_PROCESS_SCRIPT } from "../fixtures/scripts.js";
import type { ServerProcessReady } from "../fixtures/server-process.js";
import type { Benchmark, OpenBenchmark } from "../harness/benchmark.js";
import { BenchChild } from "../harness/child.js";
import { BenchmarkFailedError } from "../harness/errors.js";
import { percentile } from "../harness/stats.js";

const EVENTS_PER_SECOND = 100_000;

/**
 * One runtime process records allocate/free pairs at 100k events/s; the server process notes when each
 * ALLOC enters its registry. Latency = visible time − record time, both on CLOCK_MONOTONIC (shared by
 * every process of the host), so no clock sync is needed. Includes the client's batching delay
 * (flushIntervalMs), the socket, decoding, sequencing and the registry update.
 */
export const visibilityLatency: Benchmark = {
  name: "visibility_latency_p99_ms",
  tier: "e2e",
  description: "client record → visible in the server registry, at 100k events/s from one runtime process",
  metrics: [
    { name: "visibility_latency_p99_ms", unit: "ms", target: 2, comparison: "<=" },
    { name: "visibility_latency_p50_ms", unit: "ms", comparison: "<=" },
  ],
  async open(context): Promise<OpenBenchmark> {
    const durationMs = context.quick ? 400 : 2000;
    const server = await BenchChild.start<ServerProcessReady>(SERVER_PROCESS_SCRIPT);
    let runtime: BenchChild;
    try {
      runtime = await BenchChild.start(RUNTIME_PROCESS_SCRIPT, { args: [server.ready.socketPath] });
    } catch (error) {
      await server.stop();
      throw error;
    }
    return {
      async runOnce() {
        await server.request({ type: "probeStart", deviceId: 0 });
        let report: PacedReport;
        let seen: [number, number][] = [];
        try {
          report = await runtime.request<PacedReport>({
            type: "paced",
            eventsPerSecond: EVENTS_PER_SECOND,
            durationMs,
          });
          // Let the last batch land before the probe is read.
          await new Promise((resolve) => setTimeout(resolve, 50));
        } finally {
          seen = await server.request<[number, number][]>({ type: "probeStop" });
        }
        const visibleAt = new Map(seen);
        const latenciesMs = new Float64Array(report.allocationIds.length);
        let missing = 0;
        let n = 0;
        for (let i = 0; i < report.allocationIds.length; i++) {
          const visible = visibleAt.get(report.allocationIds[i]!);
          if (visible === undefined) missing++;
          else latenciesMs[n++] = (visible - report.recordedAtNs[i]!) / 1e6;
        }
        if (n === 0 || missing > report.allocationIds.length / 100) {
          throw new BenchmarkFailedError(
            `${missing} of ${report.allocationIds.length} allocations never became visible ` +
              `(client dropped ${report.counters.dropped})`,
          );
        }
        const sample = latenciesMs.subarray(0, n).sort();
        return {
          visibility_latency_p99_ms: percentile(sample, 99, true),
          visibility_latency_p50_ms: percentile(sample, 50, true),
        };
      },
      async close() {
        await runtime.stop();
        await server.stop();
      },
    };
  },
};
