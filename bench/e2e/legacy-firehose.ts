import { LEGACY_FIREHOSE_SCRIPT, SERVER_PROCESS_SCRIPT } from "../fixtures/scripts.js";
import type {
  AppliedReport,
  CpuReport,
  HeapReport,
  ServerProcessReady,
  StateReport,
} from "../fixtures/server-process.js";
import type { Benchmark, BenchmarkContext, OpenBenchmark } from "../harness/benchmark.js";
import { BenchChild } from "../harness/child.js";
import { BenchmarkFailedError } from "../harness/errors.js";

/** How long the reaper may take to release a round's sessions once their processes exited, ms. */
const RELEASE_DEADLINE_MS = 10_000;

/**
 * One server process with the legacy protocol on, kept for every round. A round starts `processes`
 * legacy client processes (one connection each), lets them connect, then has every one write its share
 * of 144-byte ALLOC+FREE pairs at once, and times the first write → the server's applied counter
 * reaching the total. The processes then exit, and the round waits until the server has released their
 * sessions, so that the next round starts from a server that should hold nothing more than before.
 */
interface Round {
  processes: number;
  framesPerS: number;
  /** Server CPU time per frame over the round (user + system), ns: what load on the machine moves least. */
  serverCpuNsPerFrame: number;
  /** The server's heap after full GCs once the round's sessions were released, bytes. */
  heapAfterBytes: number;
  state: StateReport;
}

class FirehoseRig {
  private applied = 0;
  private firstRate: number | undefined;
  readonly rounds: Round[] = [];

  private constructor(
    private readonly server: BenchChild<ServerProcessReady>,
    private readonly legacyPath: string,
  ) {}

  static async open(): Promise<FirehoseRig> {
    const server = await BenchChild.start<ServerProcessReady>(SERVER_PROCESS_SCRIPT, {
      args: ["--legacy"],
      execArgv: ["--expose-gc"],
    });
    const legacyPath = server.ready.legacySocketPath;
    if (legacyPath === undefined) {
      await server.stop();
      throw new BenchmarkFailedError("the server process did not open a legacy socket");
    }
    return new FirehoseRig(server, legacyPath);
  }

  /** One round of `frames` frames over `processes` processes. */
  async round(processes: number, frames: number, context: BenchmarkContext): Promise<Round> {
    const pairsEach = Math.ceil(frames / 2 / processes);
    const clients = await Promise.all(
      Array.from({ length: processes }, () =>
        BenchChild.start(LEGACY_FIREHOSE_SCRIPT, { args: [this.legacyPath, String(pairsEach)] }),
      ),
    );
    let rate: number;
    let cpuNsPerFrame: number;
    try {
      const total = pairsEach * 2 * processes;
      const target = this.applied + total;
      const before = await this.server.request<CpuReport>({ type: "cpu" });
      const started = Number(process.hrtime.bigint());
      const done = this.server.request<AppliedReport>({
        type: "waitApplied",
        count: target,
        timeoutMs: 120_000,
      });
      await Promise.all(clients.map((c) => c.request({ type: "fire" })));
      const report = await done;
      this.applied = target;
      rate = (total / (report.appliedAtNs - started)) * 1e9;
      cpuNsPerFrame = ((report.cpuUs - before.cpuUs) * 1000) / total;
    } finally {
      await Promise.all(clients.map((c) => c.stop()));
    }
    const state = await this.released();
    if (state.anomalies > 0) {
      throw new BenchmarkFailedError(
        `the server recorded ${state.anomalies} anomalies: the firehose stream is wrong`,
      );
    }
    const heap = await this.server.request<HeapReport>({ type: "heapUsed" });
    const round: Round = {
      processes,
      framesPerS: rate,
      serverCpuNsPerFrame: cpuNsPerFrame,
      heapAfterBytes: heap.heapUsedBytes,
      state,
    };
    this.rounds.push(round);
    context.progress(
      `round ${this.rounds.length}: ${processes} process(es) ${Math.round(rate).toLocaleString("en-US")} frames/s, ` +
        `server CPU ${cpuNsPerFrame.toFixed(0)} ns/frame; then ${state.sessions} sessions, ` +
        `${state.liveAllocations} live, heap after GC ${(heap.heapUsedBytes / 2 ** 20).toFixed(2)} MiB`,
    );
    return round;
  }

  /** This 1-process round's rate over the first measured one's (1 = no drift across rounds). */
  drift(rate: number): number {
    this.firstRate ??= rate;
    return rate / this.firstRate;
  }

  startDriftFromNextRound(): void {
    this.firstRate = undefined;
  }

  async close(): Promise<void> {
    await this.server.stop();
  }

  /** Waits until the reaper released every session of the exited processes; the server's state then. */
  private async released(): Promise<StateReport> {
    const deadline = Date.now() + RELEASE_DEADLINE_MS;
    for (;;) {
      const state = await this.server.request<StateReport>({ type: "state" });
      if (state.sessions === 0 && state.legacyConnections === 0) return state;
      if (Date.now() > deadline) {
        throw new BenchmarkFailedError(
          `${state.sessions} sessions and ${state.legacyConnections} legacy connections were still held ` +
            `${RELEASE_DEADLINE_MS} ms after their processes exited`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

export const legacyFirehose: Benchmark = {
  name: "legacy_firehose_frames_per_s",
  tier: "e2e",
  description:
    "legacy tt-metal protocol: 144-byte ALLOC+FREE pairs from short-lived processes, all rounds on ONE " +
    "server; each run is a 1-process round then a round of 8 (even runs) or 16 (odd runs) processes",
  metrics: [
    { name: "legacy_firehose_frames_per_s", unit: "frames/s", target: 3_000_000, comparison: ">=" },
    { name: "legacy_firehose_frames_per_s_many", unit: "frames/s", comparison: ">=" },
    { name: "legacy_firehose_drift_ratio", unit: "ratio", target: 0.9, comparison: ">=" },
    { name: "legacy_firehose_server_cpu_ns_per_frame", unit: "ns/frame", comparison: "<=" },
    { name: "legacy_firehose_heap_after_round_bytes", unit: "bytes", comparison: "<=" },
  ],
  async open(context): Promise<OpenBenchmark> {
    const frames = context.quick ? 200_000 : 2_000_000;
    const rig = await FirehoseRig.open();
    let run = 0;
    return {
      async runOnce() {
        // The warm-up's round is JIT warm-up: drift is measured from the first measured round on.
        if (run === 1) rig.startDriftFromNextRound();
        const many = run % 2 === 0 ? 8 : 16;
        run++;
        const one = await rig.round(1, frames, context);
        const manyRound = await rig.round(many, frames, context);
        return {
          legacy_firehose_frames_per_s: one.framesPerS,
          legacy_firehose_frames_per_s_many: manyRound.framesPerS,
          legacy_firehose_drift_ratio: rig.drift(one.framesPerS),
          legacy_firehose_server_cpu_ns_per_frame: one.serverCpuNsPerFrame,
          legacy_firehose_heap_after_round_bytes: manyRound.heapAfterBytes,
        };
      },
      async close() {
        const ones = rig.rounds.filter((r) => r.processes === 1);
        context.progress(
          `1-process rounds in order: ${ones.map((r) => Math.round(r.framesPerS)).join(", ")} frames/s; ` +
            `server CPU ${ones.map((r) => r.serverCpuNsPerFrame.toFixed(0)).join(", ")} ns/frame; heap after ` +
            `GC ${rig.rounds.map((r) => (r.heapAfterBytes / 2 ** 20).toFixed(2)).join(", ")} MiB`,
        );
        await rig.close();
      },
    };
  },
};
