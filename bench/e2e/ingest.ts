import { availableParallelism } from "node:os";
import { ChurnStream } from "../fixtures/churn.js";
import {
  assertCleanStream,
  EVENTS_PER_FRAME,
  eventsInAll,
  ingestWorkload,
} from "../fixtures/ingest-workload.js";
import { RawSession } from "../fixtures/raw-session.js";
import { SERVER_PROCESS_SCRIPT } from "../fixtures/scripts.js";
import type { AppliedReport, ServerProcessInfo, ServerProcessReady } from "../fixtures/server-process.js";
import type { Benchmark, OpenBenchmark } from "../harness/benchmark.js";
import { BenchChild } from "../harness/child.js";

/**
 * One server process with `connections` raw sessions (one device each) holding `liveTotal` live
 * allocations between them. Each run writes `eventsPerRun` pre-encoded churn events (half FREE, half
 * ALLOC) spread over the connections, as fast as the sockets take them, and times first write →
 * the server's applied counter reaching the total (on the host's shared monotonic clock).
 */
export class IngestRig {
  private applied = 0;

  private constructor(
    private readonly server: BenchChild<ServerProcessReady>,
    private readonly sessions: RawSession[],
    private readonly streams: ChurnStream[],
  ) {}

  /** `serverArgs`: the server process's arguments (bench/fixtures/server-process.ts). */
  static async open(connections: number, liveTotal: number, serverArgs: string[] = []): Promise<IngestRig> {
    const server = await BenchChild.start<ServerProcessReady>(SERVER_PROCESS_SCRIPT, { args: serverArgs });
    try {
      const sessions: RawSession[] = [];
      const streams: ChurnStream[] = [];
      for (let c = 0; c < connections; c++) {
        sessions.push(await RawSession.open(server.ready.socketPath, [0], `ingest-${c}`));
        streams.push(new ChurnStream(0, Math.ceil(liveTotal / connections), EVENTS_PER_FRAME));
      }
      const rig = new IngestRig(server, sessions, streams);
      await rig.send(streams.map((s) => s.prefillFrames()));
      return rig;
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  /** Events per second of one run of `events` churn events. */
  async run(events: number): Promise<number> {
    const perConnection = Math.ceil(events / this.sessions.length);
    const frames = this.streams.map((s) => s.churnFrames(perConnection));
    const { elapsedNs, count } = await this.send(frames);
    assertCleanStream(await this.server.request<ServerProcessInfo>({ type: "info" }));
    return (count / elapsedNs) * 1e9;
  }

  async close(): Promise<void> {
    await Promise.all(this.sessions.map((s) => s.close()));
    await this.server.stop();
  }

  private async send(framesPerSession: Uint8Array[][]): Promise<{ elapsedNs: number; count: number }> {
    let count = 0;
    for (const frames of framesPerSession) count += eventsInAll(frames);
    const target = this.applied + count;
    const started = Number(process.hrtime.bigint());
    const done = this.server.request<AppliedReport>({
      type: "waitApplied",
      count: target,
      timeoutMs: 120_000,
    });
    await Promise.all(this.sessions.map((s, i) => s.writeFrames(framesPerSession[i]!)));
    const report = await done;
    this.applied = target;
    return { elapsedNs: report.appliedAtNs - started, count };
  }
}

export const ingest: Benchmark = {
  name: "ingest_events_per_s",
  tier: "e2e",
  description:
    "server apply rate: pre-encoded EVENTS (half ALLOC, half FREE, 100k live) written by one process over 1, " +
    "2, 4 and 8 Unix-socket connections (one server each); anomaly detection on. The machine line gives the cores.",
  metrics: [
    { name: "ingest_events_per_s", unit: "events/s", target: 5_000_000, comparison: ">=" },
    { name: "ingest_events_per_s_2conn", unit: "events/s", comparison: ">=" },
    { name: "ingest_events_per_s_4conn", unit: "events/s", comparison: ">=" },
    // Issue 17: ≥ 10M with 8 connections where there are cores for them (16); no target on fewer.
    {
      name: "ingest_events_per_s_8conn",
      unit: "events/s",
      ...(availableParallelism() >= 16 ? { target: 10_000_000 } : {}),
      comparison: ">=",
    },
  ],
  async open(context): Promise<OpenBenchmark> {
    const { liveTotal: live, eventsPerRun: events } = ingestWorkload(context.quick);
    const connectionCounts = [1, 2, 4, 8] as const;
    context.progress(
      `prefilling ${live} live allocations on ${connectionCounts.length} servers (1, 2, 4, 8 connections)`,
    );
    const rigs: IngestRig[] = [];
    try {
      for (const connections of connectionCounts) rigs.push(await IngestRig.open(connections, live));
    } catch (error) {
      await Promise.all(rigs.map((rig) => rig.close()));
      throw error;
    }
    const [one, two, four, eight] = rigs as [IngestRig, IngestRig, IngestRig, IngestRig];
    return {
      async runOnce() {
        return {
          ingest_events_per_s: await one.run(events),
          ingest_events_per_s_2conn: await two.run(events),
          ingest_events_per_s_4conn: await four.run(events),
          ingest_events_per_s_8conn: await eight.run(events),
        };
      },
      async close() {
        await Promise.all(rigs.map((rig) => rig.close()));
      },
    };
  },
};
