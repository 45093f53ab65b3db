import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SERVER_PROCESS_SCRIPT } from "../fixtures/scripts.js";
import type { ServerProcessReady } from "../fixtures/server-process.js";
import type { Benchmark, OpenBenchmark } from "../harness/benchmark.js";
import { BenchChild } from "../harness/child.js";
import { BenchmarkFailedError, BenchmarkSkippedError } from "../harness/errors.js";

/** The repository root (package.json), from the compiled module wherever the output folder is. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new BenchmarkFailedError("no package.json above the benchmark");
    dir = parent;
  }
  return dir;
}

/** Why python3 cannot run the client (>= 3.9), or undefined when it can. */
function pythonMissing(): string | undefined {
  const probe = spawnSync("python3", ["-c", "import sys; sys.exit(sys.version_info < (3, 9))"]);
  if (probe.error !== undefined) return `python3 is not installed (${probe.error.message})`;
  if (probe.status !== 0) return "python3 is older than 3.9";
  return undefined;
}

/**
 * The Python client (clients/python) on its caller's thread: stamp() + record_alloc()/record_free() per
 * event, in a python3 child connected to a real server process (the writer thread runs meanwhile and
 * shares the GIL, as it would in a program). Each run is a fresh child: one warm-up round, one timed round.
 * Reported, no target. Without python3 the benchmark reports itself skipped.
 */
export const pythonClient: Benchmark = {
  name: "python_client_us_per_event",
  tier: "micro",
  description:
    "Python client: stamp + record_alloc/record_free on the calling thread, µs per event (python3 child)",
  metrics: [{ name: "python_client_us_per_event", unit: "us/event", comparison: "<=" }],
  warmupRuns: 1,
  async open(context): Promise<OpenBenchmark> {
    const missing = pythonMissing();
    if (missing !== undefined) throw new BenchmarkSkippedError(missing);
    const root = repoRoot();
    const script = join(root, "bench", "fixtures", "python_client_bench.py");
    const events = context.quick ? 100_000 : 1_000_000;
    const server = await BenchChild.start<ServerProcessReady>(SERVER_PROCESS_SCRIPT);
    return {
      async runOnce() {
        const { stdout } = await promisify(execFile)(
          "python3",
          [script, join(root, "clients", "python"), server.ready.socketPath, String(events)],
          { timeout: 170_000 },
        );
        const line = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as {
          us_per_event?: number;
          dropped?: number;
          error?: string;
        };
        if (line.error !== undefined || typeof line.us_per_event !== "number")
          throw new BenchmarkFailedError(`python3 child: ${line.error ?? stdout}`);
        if ((line.dropped ?? 0) > 0)
          context.progress(`client dropped ${line.dropped} events (queue full): cost understated`);
        return { python_client_us_per_event: line.us_per_event };
      },
      async close() {
        await server.stop();
      },
    };
  },
};
