import { readFileSync } from "node:fs";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { deviceOptions } from "../../src/client/device-description.js";
import { TrackingProcessor } from "../../src/client/tracking-processor.js";
import { Device } from "../../src/device/device.js";
import { GraphTracker } from "../../src/device/graph-tracker.js";
import { WORMHOLE_B0_N150 } from "../../src/device/presets.js";
import { monotonicNs, RuntimeChurn, yieldToEventLoop } from "../fixtures/runtime-churn.js";
import { SERVER_PROCESS_SCRIPT } from "../fixtures/scripts.js";
import type { ServerProcessReady } from "../fixtures/server-process.js";
import type { Benchmark, OpenBenchmark } from "../harness/benchmark.js";
import { BenchChild } from "../harness/child.js";
import { BenchmarkFailedError } from "../harness/errors.js";

const LIVE_BLOCKS = 1000;
/** One client batch (2048 events) between yields, so the client writes as it would in a workload. */
const CHUNK_PAIRS = 1024;

interface Timing {
  /** CPU time of the workload's (main) thread, ns. */
  threadNs: number;
  /** CPU time of this process (user + system, every thread: the client's writer thread too), ns. */
  cpuNs: number;
  wallNs: number;
}

/**
 * CPU time of this process's main thread, ns: the first field of /proc/self/task/<tid>/schedstat (time
 * on CPU); on Linux the main thread's tid is the pid. The client's writer thread is left out. The kernel
 * adds a running thread's time to that field only at scheduler events (a sleep, a tick, a preemption),
 * so the thread first sleeps 1 ms: the figure is then exact to the microsecond instead of a tick late.
 */
const MAIN_THREAD_SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;
const SLEEP_WORD = new Int32Array(new SharedArrayBuffer(4));
function mainThreadCpuNs(): number {
  Atomics.wait(SLEEP_WORD, 0, 0, 1);
  return Number(readFileSync(MAIN_THREAD_SCHEDSTAT, "latin1").split(" ", 1)[0]);
}

/** Each run alternates untracked and tracked slices this many times. */
const SLICES = 10;

function add(total: Timing, part: Timing): void {
  total.threadNs += part.threadNs;
  total.cpuNs += part.cpuNs;
  total.wallNs += part.wallNs;
}

async function timedPairs(churn: RuntimeChurn, pairs: number, after?: () => Promise<void>): Promise<Timing> {
  const threadStarted = mainThreadCpuNs();
  const cpuStarted = process.cpuUsage();
  const started = monotonicNs();
  for (let done = 0; done < pairs; done += CHUNK_PAIRS) {
    churn.pairs(Math.min(CHUNK_PAIRS, pairs - done));
    await yieldToEventLoop();
  }
  if (after !== undefined) await after();
  const wallNs = monotonicNs() - started;
  const cpu = process.cpuUsage(cpuStarted);
  const threadNs = mainThreadCpuNs() - threadStarted;
  return { threadNs, cpuNs: (cpu.user + cpu.system) * 1000, wallNs };
}

/**
 * What tracking adds to the runtime's Buffer create + deallocate path. Two identical devices in this
 * process run the same churn in the same run: one through a GraphTracker with no processor
 * (untracked), one through a GraphTracker feeding a TrackingProcessor → AllocationClient connected to a
 * real server process (tracked). The tracked time includes flush() (it waits until every event is handed
 * to the kernel). A run interleaves 10 slices of each, alternating which goes first.
 *
 * The headline is CPU time of the workload's thread (the main thread's schedstat): what tracking costs
 * the thread that allocates. The client encodes and writes on its own writer thread; the whole process's
 * CPU time (process.cpuUsage, every thread) is reported beside it, as is the wall-clock difference. Wall
 * time is not the headline: on a shared machine it also counts waits for a core or for the server.
 */
export const clientOverhead: Benchmark = {
  name: "client_overhead_ns_per_event",
  tier: "micro",
  description:
    "(tracked − untracked) main-thread CPU time of Buffer create+deallocate pairs / events; tracked = " +
    "TrackingProcessor + AllocationClient to a real server",
  metrics: [
    { name: "client_overhead_ns_per_event", unit: "ns/event", target: 60, comparison: "<=" },
    { name: "client_overhead_process_ns_per_event", unit: "ns/event", comparison: "<=" },
    { name: "client_overhead_wall_ns_per_event", unit: "ns/event", comparison: "<=" },
    { name: "client_untracked_ns_per_event", unit: "ns/event", comparison: "<=" },
    { name: "client_overhead_dropped_events", unit: "events", comparison: "<=" },
  ],
  warmupRuns: 2,
  async open(context): Promise<OpenBenchmark> {
    const pairs = context.quick ? 50_000 : 1_000_000;
    const server = await BenchChild.start<ServerProcessReady>(SERVER_PROCESS_SCRIPT);
    const untrackedDevice = Device.create(WORMHOLE_B0_N150, { id: 0, clock: monotonicNs });
    const untracked = new RuntimeChurn(untrackedDevice, new GraphTracker(), LIVE_BLOCKS);
    const trackedDevice = Device.create(WORMHOLE_B0_N150, { id: 0, clock: monotonicNs });
    const tracker = new GraphTracker();
    const client = new AllocationClient({
      socketPath: server.ready.socketPath,
      processName: "bench-client-overhead",
      ...deviceOptions([trackedDevice]),
    });
    tracker.addProcessor(new TrackingProcessor(client));
    const deadline = Date.now() + 10_000;
    while (client.state !== "ready") {
      if (Date.now() > deadline) {
        await client.close();
        await server.stop();
        throw new BenchmarkFailedError(`client state ${client.state} after 10 s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const tracked = new RuntimeChurn(trackedDevice, tracker, LIVE_BLOCKS);
    await client.flush();
    let run = 0;
    let droppedBefore = client.counters.dropped;
    return {
      async runOnce() {
        const flush = () => client.flush({ timeoutMs: 30_000 });
        // Interleaved slices cancel drifts (GC, CPU frequency, neighbours) that would otherwise land
        // on one variant only; the order alternates per slice.
        const base: Timing = { threadNs: 0, cpuNs: 0, wallNs: 0 };
        const withTracking: Timing = { threadNs: 0, cpuNs: 0, wallNs: 0 };
        const slicePairs = Math.ceil(pairs / SLICES);
        for (let slice = 0; slice < SLICES; slice++) {
          const untrackedFirst = (run + slice) % 2 === 0;
          if (untrackedFirst) add(base, await timedPairs(untracked, slicePairs));
          add(withTracking, await timedPairs(tracked, slicePairs, flush));
          if (!untrackedFirst) add(base, await timedPairs(untracked, slicePairs));
        }
        run++;
        const dropped = client.counters.dropped - droppedBefore;
        droppedBefore = client.counters.dropped;
        if (dropped > 0)
          context.progress(`client dropped ${dropped} events (queue full): overhead understated`);
        const events = 2 * slicePairs * SLICES;
        return {
          client_overhead_ns_per_event: (withTracking.threadNs - base.threadNs) / events,
          client_overhead_process_ns_per_event: (withTracking.cpuNs - base.cpuNs) / events,
          client_overhead_wall_ns_per_event: (withTracking.wallNs - base.wallNs) / events,
          client_untracked_ns_per_event: base.threadNs / events,
          client_overhead_dropped_events: dropped,
        };
      },
      async close() {
        await client.close();
        untracked.release();
        await server.stop();
      },
    };
  },
};
