import { existsSync } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import { resolveSocketPath } from "../../client/socket-path.js";
import type { ChildExit, ChildStream } from "../../demo/fleet.js";
import { describeDemoLine } from "../../demo/progress-line.js";
import { type DemoOptions, firstDeviceOf, startDemo } from "../../demo/run-demo.js";
import { DEVICE_PRESETS } from "../../device/presets.js";
import { stopRequests } from "../stop-requests.js";

export interface DemoCliOptions {
  processes: number;
  devices: number;
  leak: number[];
  duration?: number;
  socket?: string;
  preset: string;
  workers: number;
  stepMs: number;
}

export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`use a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError("use a positive number of seconds, e.g. 30");
  return n;
}

/** "2 devices each (ids 0-5)": what the fleet's processes report on, for the directions. */
export function devicesEach(options: Pick<DemoCliOptions, "processes" | "devices">): string {
  const last = firstDeviceOf(options.processes - 1, options.devices) + options.devices - 1;
  return `${options.devices} device${options.devices === 1 ? "" : "s"} each (ids 0-${last})`;
}

/** The demo's options, shared by `allocwatch demo` and `allocwatch start`. */
export function addDemoOptions(command: Command): Command {
  return command
    .option("-p, --processes <n>", "workload processes", integer(1, 64), 3)
    .option(
      "-d, --devices <n>",
      "simulated devices per process, each process its own (process i: ids i×n .. i×n+n-1)",
      integer(1, 8),
      2,
    )
    .option(
      "--leak <index>",
      "make process <index> (0-based) leak its outputs and end holding them (a leak report); repeatable",
      (value: string, previous: number[]) => [...previous, integer(0, 63)(value)],
      [] as number[],
    )
    .option("--duration <s>", "stop after this many seconds (default: run until Ctrl+C)", seconds)
    .addOption(
      new Option("--preset <name>", "device preset")
        .choices(Object.keys(DEVICE_PRESETS))
        .default("wormhole_b0_n150"),
    )
    .option("--workers <n>", "worker threads per process that free tensors", integer(0, 16), 2)
    .option("--step-ms <ms>", "pause between forward passes, ms", integer(0, 60_000), 200)
    .hook("preAction", (cli) => {
      const { leak, processes } = cli.opts<DemoCliOptions>();
      const beyond = leak.find((index) => index >= processes);
      if (beyond !== undefined) {
        cli.error(
          `error: --leak ${beyond} names no process: with --processes ${processes} the indexes are 0 to ${processes - 1}`,
          { exitCode: USAGE_ERROR_EXIT_CODE, code: "allocwatch.leakBeyondProcesses" },
        );
      }
    });
}

/** A command line that cannot run as given (commander's own usage errors exit 1, an older choice). */
export const USAGE_ERROR_EXIT_CODE = 2;

/** A demo child's line: its milestones on our stdout, its problems (client errors, stderr) on our stderr. */
export function printDemoLine(
  line: string,
  child: { index: number; pid: number },
  stream: ChildStream,
): void {
  const { text, problem } = describeDemoLine(line, child);
  (problem || stream === "stderr" ? process.stderr : process.stdout).write(`${text}\n`);
}

export function demoOptions(options: DemoCliOptions, log: DemoOptions["log"]): DemoOptions {
  return {
    processes: options.processes,
    devices: options.devices,
    leak: options.leak,
    ...(options.duration !== undefined ? { durationS: options.duration } : {}),
    ...(options.socket !== undefined ? { socketPath: options.socket } : {}),
    preset: options.preset,
    workers: options.workers,
    stepMs: options.stepMs,
    log,
  };
}

/** `allocwatch demo`: realistic workload processes reporting to a running server. */
export function demoCommand(): Command {
  return addDemoOptions(
    new Command("demo")
      .description("run workload processes on simulated devices that report to the allocation server")
      .option("--socket <path>", "server socket (default $ALLOCWATCH_SOCKET or the per-user path)"),
  ).action(async (options: DemoCliOptions) => {
    const socketPath = resolveSocketPath(options.socket);
    if (!existsSync(socketPath)) {
      // Not an error: the clients keep trying and report (after a resync) once a server appears.
      process.stderr.write(
        `allocwatch demo: no allocation server at ${socketPath} yet (start one with \`allocwatch serve\`); ` +
          "the workloads run anyway and report as soon as it is there\n",
      );
    }
    const fleet = startDemo(demoOptions(options, printDemoLine));
    const stopListening = stopRequests.listen(() => void fleet.stop());
    let exits: ChildExit[];
    try {
      const pids = fleet.children.map((c) => c.pid).join(", ");
      process.stdout.write(
        `allocwatch demo: ${options.processes} processes (pids ${pids}), ${devicesEach(options)}` +
          `${options.leak.length > 0 ? `, leaking: process ${options.leak.join(", ")}` : ""}. ` +
          "Watch them with `allocwatch smi --watch`; Ctrl+C stops.\n",
      );
      exits = await fleet.exited;
    } finally {
      // However this ends (an exception included), no workload process is left behind.
      await fleet.stop();
      stopListening();
    }
    const failed = exits.filter((e) => e.code !== 0 && e.signal !== "SIGTERM" && e.signal !== "SIGINT");
    for (const e of failed) {
      process.stderr.write(
        `allocwatch demo: process ${e.index} (pid ${e.pid}) ended with ${e.signal ?? `code ${e.code}`}\n`,
      );
    }
    if (failed.length > 0) process.exitCode = 1;
    if (options.leak.length > 0) {
      process.stdout.write(
        "allocwatch demo: the leaky process ended holding its leaked outputs; see them with `allocwatch leaks`\n",
      );
    }
  });
}
