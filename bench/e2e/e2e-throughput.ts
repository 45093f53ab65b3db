import { readdirSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import type { ClientCounters } from "../../src/client/types.js";
import type { FullSpeedReport } from "../fixtures/runtime-process.js";
import { RUNTIME_PROCESS_SCRIPT, SERVER_PROCESS_SCRIPT } from "../fixtures/scripts.js";
import type { AppliedReport, ServerProcessInfo, ServerProcessReady } from "../fixtures/server-process.js";
import type { Benchmark, OpenBenchmark } from "../harness/benchmark.js";
import { BenchChild } from "../harness/child.js";
import { BenchmarkFailedError } from "../harness/errors.js";

const CLIENT_PROCESSES = 4;
/** The server's nice value in its systemd unit (deploy/systemd/allocwatch.service). */
const DEPLOY_NICE = -5;

/**
 * 4 runtime processes (Device + GraphTracker + AllocationClient) allocate and free at full speed for a
 * fixed window against one server process.
 * - e2e_events_per_s: what the server absorbed: events the clients handed to their sockets / (first
 *   client start → the server has applied all of them). Events a client had to drop are not counted.
 * - e2e_offered_events_per_s: what the clients recorded / their window (the load offered).
 * - e2e_drain_ms: how long the server still needed after the clients stopped.
 * - e2e_dropped_events: events the clients' bounded queues dropped (healed by snapshots). Non-zero means
 *   the backlog grew until the queues were full: the server did not keep up.
 * Each run measures twice: first with every process at the runner's nice value (`_same_priority`), then
 * with the server 5 steps higher, as its systemd unit runs it (Nice=-5; `e2e_server_nice` is the step
 * taken, 0 where raising the priority was not permitted); the
 * figures without a suffix are the second's. On a machine with fewer cores than processes, the
 * scheduler's share decides whether the server keeps up with clients that never wait.
 */
export const e2eThroughput: Benchmark = {
  name: "e2e_events_per_s",
  tier: "e2e",
  description: "4 runtime client processes at full speed against one server; aggregate events/s applied",
  metrics: [
    { name: "e2e_events_per_s", unit: "events/s", target: 1_000_000, comparison: ">=" },
    { name: "e2e_offered_events_per_s", unit: "events/s", comparison: ">=" },
    { name: "e2e_drain_ms", unit: "ms", comparison: "<=" },
    { name: "e2e_dropped_events", unit: "events", target: 0, comparison: "<=" },
    { name: "e2e_server_nice", unit: "nice", comparison: "<=" },
    { name: "e2e_events_per_s_same_priority", unit: "events/s", comparison: ">=" },
    { name: "e2e_dropped_events_same_priority", unit: "events", comparison: "<=" },
  ],
  async open(context): Promise<OpenBenchmark> {
    const durationMs = context.quick ? 500 : 3000;
    const server = await BenchChild.start<ServerProcessReady>(SERVER_PROCESS_SCRIPT);
    const clients: BenchChild[] = [];
    try {
      for (let i = 0; i < CLIENT_PROCESSES; i++) {
        clients.push(await BenchChild.start(RUNTIME_PROCESS_SCRIPT, { args: [server.ready.socketPath] }));
      }
    } catch (error) {
      await Promise.all([...clients.map((c) => c.stop()), server.stop()]);
      throw error;
    }
    // Client counters are cumulative: a run's share is the difference to the previous run's totals.
    const initial = await Promise.all(clients.map((c) => c.request<ClientCounters>({ type: "counters" })));
    let sentBefore = initial.reduce((sum, c) => sum + c.sent, 0);
    let droppedBefore = initial.reduce((sum, c) => sum + c.dropped, 0);
    const measure = async (): Promise<{
      eventsPerS: number;
      offeredPerS: number;
      drainMs: number;
      dropped: number;
    }> => {
      const before = await server.request<{ eventsApplied: number }>({ type: "info" });
      const reports = await Promise.all(
        clients.map((c) => c.request<FullSpeedReport>({ type: "fullSpeed", durationMs })),
      );
      let events = 0;
      let sent = 0;
      let dropped = 0;
      for (const r of reports) {
        events += r.events;
        sent += r.counters.sent;
        dropped += r.counters.dropped;
      }
      const runSent = sent - sentBefore;
      if (runSent === 0) throw new BenchmarkFailedError("clients sent nothing");
      // Everything handed to the sockets in this run must be applied (drops are healed by snapshots).
      const applied = await server.request<AppliedReport>({
        type: "waitApplied",
        count: before.eventsApplied + runSent,
        timeoutMs: context.quick ? 10_000 : 60_000,
      });
      sentBefore = sent;
      const startedNs = Math.min(...reports.map((r) => r.startedNs));
      const endedNs = Math.max(...reports.map((r) => r.endedNs));
      const runDropped = dropped - droppedBefore;
      droppedBefore = dropped;
      return {
        eventsPerS: (runSent / (applied.appliedAtNs - startedNs)) * 1e9,
        offeredPerS: (events / (endedNs - startedNs)) * 1e9,
        drainMs: Math.max(0, applied.appliedAtNs - endedNs) / 1e6,
        dropped: runDropped,
      };
    };
    const serverPid = server.process.pid as number;
    const baseNice = getPriority();
    return {
      async runOnce() {
        // Once as every process runs by default, once with the server at the priority its deployment
        // gives it (deploy/systemd/allocwatch.service: Nice=-5), where the system allows it.
        // Relative to the runner's own nice value, which the clients inherit (a runner started with
        // `nice -n -20` must not leave the server 20 steps below its clients).
        setServerPriority(serverPid, baseNice);
        const same = await measure();
        let deployNice = 0;
        try {
          setServerPriority(serverPid, Math.max(-20, baseNice + DEPLOY_NICE));
          deployNice = Math.max(-20, baseNice + DEPLOY_NICE) - baseNice;
        } catch {
          context.progress("could not raise the server's priority (not permitted): both halves alike");
        }
        const deployed = await measure();
        setServerPriority(serverPid, baseNice);
        return {
          e2e_events_per_s: deployed.eventsPerS,
          e2e_offered_events_per_s: deployed.offeredPerS,
          e2e_drain_ms: deployed.drainMs,
          e2e_dropped_events: deployed.dropped,
          e2e_server_nice: deployNice,
          e2e_events_per_s_same_priority: same.eventsPerS,
          e2e_dropped_events_same_priority: same.dropped,
        };
      },
      async close() {
        const info = await server.request<ServerProcessInfo>({ type: "info" });
        if (info.anomalies > 0 || info.eventsStale > 0) {
          context.progress(`server recorded ${info.anomalies} anomalies, ${info.eventsStale} stale events`);
        }
        await Promise.all(clients.map((c) => c.stop()));
        await server.stop();
      },
    };
  },
};

/**
 * Sets the nice value of every thread of the server process (its ingest threads too, with
 * BENCH_INGEST_THREADS): on Linux a nice value belongs to a thread, and setpriority(pid) reaches only the
 * main one. A service started with Nice=-5 has all its threads there from the start.
 */
function setServerPriority(pid: number, nice: number): void {
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    threads = [String(pid)];
  }
  for (const thread of threads) setPriority(Number(thread), nice);
}
