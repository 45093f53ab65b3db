import { ChurnStream } from "../fixtures/churn.js";
import { RawSession } from "../fixtures/raw-session.js";
import { SERVER_PROCESS_SCRIPT } from "../fixtures/scripts.js";
import type { AppliedReport, HeapReport, ServerProcessReady } from "../fixtures/server-process.js";
import type { Benchmark, OpenBenchmark } from "../harness/benchmark.js";
import { BenchChild } from "../harness/child.js";

const EVENTS_PER_FRAME = 2048;
/** Warm-up traffic on a throwaway session, so compiled code and lazily built tables are in the baseline. */
const WARMUP_EVENTS = 40_000;

/**
 * Memory the server holds per live allocation. Each run starts a fresh server process (--expose-gc),
 * warms its ingest path on a throwaway session, measures the heap after full GCs, applies `live` ALLOC
 * events on one session, and measures again. Counted: V8 heap used + external memory (the registry's
 * typed-array backing stores live outside the V8 heap and would otherwise be missed).
 */
export const serverMemory: Benchmark = {
  name: "server_bytes_per_live_allocation",
  tier: "e2e",
  description: "server (heapUsed + external) growth after GC / live allocations, at 1M live",
  metrics: [
    { name: "server_bytes_per_live_allocation", unit: "bytes", target: 64, comparison: "<=" },
    { name: "server_heap_only_bytes_per_live_allocation", unit: "bytes", comparison: "<=" },
  ],
  async open(context): Promise<OpenBenchmark> {
    const live = context.quick ? 100_000 : 1_000_000;
    return {
      async runOnce() {
        const server = await BenchChild.start<ServerProcessReady>(SERVER_PROCESS_SCRIPT, {
          execArgv: ["--expose-gc"],
        });
        try {
          const warm = await RawSession.open(server.ready.socketPath, [0], "memory-warmup");
          const warmStream = new ChurnStream(0, 1000, EVENTS_PER_FRAME);
          await warm.writeFrames([...warmStream.prefillFrames(), ...warmStream.churnFrames(WARMUP_EVENTS)]);
          await server.request<AppliedReport>({ type: "waitApplied", count: warmStream.eventCount });
          await warm.close();
          const stream = new ChurnStream(1, live, EVENTS_PER_FRAME);
          const frames = stream.prefillFrames();
          const session = await RawSession.open(server.ready.socketPath, [1], "memory");
          const before = await server.request<HeapReport>({ type: "heapUsed" });
          const applied = before.eventsApplied + live;
          await session.writeFrames(frames);
          await server.request<AppliedReport>({ type: "waitApplied", count: applied, timeoutMs: 120_000 });
          const after = await server.request<HeapReport>({ type: "heapUsed" });
          if (after.liveAllocations < live) throw new Error(`only ${after.liveAllocations} allocations live`);
          await session.close();
          return {
            server_bytes_per_live_allocation:
              (after.heapUsedBytes + after.externalBytes - before.heapUsedBytes - before.externalBytes) /
              live,
            server_heap_only_bytes_per_live_allocation: (after.heapUsedBytes - before.heapUsedBytes) / live,
          };
        } finally {
          await server.stop();
        }
      },
      async close() {},
    };
  },
};
