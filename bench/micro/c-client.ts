import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SERVER_PROCESS_SCRIPT } from "../fixtures/scripts.js";
import type { ServerProcessReady } from "../fixtures/server-process.js";
import type { Benchmark, OpenBenchmark } from "../harness/benchmark.js";
import { BenchChild } from "../harness/child.js";
import { BenchmarkFailedError, BenchmarkSkippedError } from "../harness/errors.js";

/** The C program, in the source tree (the build copies no .c files): bench/fixtures/c-client-record.c. */
const SOURCE = fileURLToPath(new URL("../../../bench/fixtures/c-client-record.c", import.meta.url));
/** Events per burst: well below the client's 65536-event queue, so the timed calls take the enqueue path. */
const BURST = 16_384;

interface RecordCost {
  ns_per_event: number;
  drop_ns_per_event: number;
  sent: number;
  dropped: number;
}

function findCompiler(): string | undefined {
  for (const cc of [process.env.CC, "gcc", "cc", "clang"]) {
    if (cc !== undefined && cc !== "" && spawnSync(cc, ["--version"]).status === 0) return cc;
  }
  return undefined;
}

/**
 * The calling thread's cost of the C client (clients/c/allocwatch.h): allocwatch_stamp + record, one
 * thread, connected to a real server process, timed over bursts the queue holds (the writer thread drains
 * each burst, untimed, before the next). Also the same calls while the device is gated (no server: the
 * drop path). Skipped where no C compiler exists.
 */
export const cClient: Benchmark = {
  name: "c_client_ns_per_event",
  tier: "micro",
  description:
    "C client: calling thread's ns per allocwatch_stamp + record_alloc/free (one thread, real server, " +
    "bursts of 16384 the queue holds); drop = the same with no server",
  metrics: [
    { name: "c_client_ns_per_event", unit: "ns/event", target: 25, comparison: "<=" },
    { name: "c_client_drop_ns_per_event", unit: "ns/event", comparison: "<=" },
  ],
  warmupRuns: 1,
  async open(context): Promise<OpenBenchmark> {
    const compiler = findCompiler();
    if (compiler === undefined) throw new BenchmarkSkippedError("no C compiler (gcc, cc or clang) on PATH");
    const dir = mkdtempSync(join(tmpdir(), "aw-bench-c-"));
    const binary = join(dir, "c-client-record");
    const built = spawnSync(compiler, ["-std=c11", "-O2", "-pthread", SOURCE, "-o", binary], {
      encoding: "utf8",
    });
    if (built.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new BenchmarkFailedError(`${compiler} could not build ${SOURCE}: ${built.stderr}`);
    }
    const server = await BenchChild.start<ServerProcessReady>(SERVER_PROCESS_SCRIPT);
    const events = context.quick ? 1_048_576 : 8_388_608;
    return {
      async runOnce() {
        const { stdout } = await promisify(execFile)(
          binary,
          [server.ready.socketPath, String(events), String(BURST)],
          { timeout: 120_000 },
        );
        const cost = JSON.parse(stdout) as RecordCost;
        if (cost.dropped > 0)
          context.progress(`${cost.dropped} events dropped (queue full): not the enqueue path`);
        return {
          c_client_ns_per_event: cost.ns_per_event,
          c_client_drop_ns_per_event: cost.drop_ns_per_event,
        };
      },
      async close() {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
