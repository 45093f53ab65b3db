import { Command, InvalidArgumentError } from "commander";
import { DEVICE_PRESETS } from "../../device/presets.js";
import { REPLAY_ANOMALY_KINDS } from "../../race/replay-anomaly-kind.js";
import { type RaceModeReport, type RaceReport, runRace } from "../../race/run.js";
import type { ReportingMode } from "../../race/workload.js";

interface RaceCommandOptions {
  threads: number;
  operations: number;
  seed: number;
  preset: string;
  json?: boolean;
}

function integerOption(min: number, max: number, example: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`use a whole number from ${min} to ${max}, e.g. ${example}`);
    }
    return n;
  };
}

function presetOption(value: string): string {
  if (DEVICE_PRESETS[value] === undefined) {
    throw new InvalidArgumentError(`use one of ${Object.keys(DEVICE_PRESETS).join(", ")}`);
  }
  return value;
}

/**
 * `allocwatch race`: shows the seed's race. The same multi-threaded workload runs twice on a shared
 * device, once reporting the original's way and once allocwatch's; exit code 0 iff the ordered run is exact.
 */
export function raceCommand(): Command {
  return new Command("race")
    .description("run one concurrent workload with naive and with ordered reporting and count the anomalies")
    .option("-t, --threads <n>", "worker threads sharing the device", integerOption(1, 64, "4"), 4)
    .option("-n, --operations <n>", "allocations + frees per run", integerOption(1, 1e8, "200000"), 200000)
    .option("-s, --seed <n>", "workload seed", integerOption(0, 0xffffffff, "42"), 1)
    .option("--preset <name>", "device preset", presetOption, "wormhole_b0_n150")
    .option("--json", "print the result as JSON")
    .action(async (options: RaceCommandOptions) => {
      const progress = progressReporter();
      const report = await runRace({
        threads: options.threads,
        operations: options.operations,
        seed: options.seed,
        presetName: options.preset,
        onProgress: progress.update,
      });
      progress.finish();
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderRace(report));
      process.exitCode = report.ordered.anomalies === 0 && report.liveSetsEqual ? 0 : 1;
    });
}

/** Progress on stderr, at most five times a second: a rewritten line on a terminal, plain lines otherwise. */
function progressReporter() {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  let lastMode: ReportingMode | undefined;
  return {
    update(mode: ReportingMode, done: number, total: number): void {
      const now = Date.now();
      if (mode === lastMode && now - last < 200 && done < total) return;
      last = now;
      const line = `race: ${mode} run ${Math.floor((100 * done) / total)}% (${done}/${total} operations)`;
      if (tty) process.stderr.write(`\r${line}\x1b[K`);
      else if (mode !== lastMode || done === total) process.stderr.write(`${line}\n`);
      lastMode = mode;
    },
    finish(): void {
      if (tty) process.stderr.write("\r\x1b[K");
    },
  };
}

function renderRace(r: RaceReport): string {
  const rows: [string, (m: RaceModeReport) => string][] = [
    ["anomalies", (m) => String(m.anomalies)],
    ...REPLAY_ANOMALY_KINDS.map((k): [string, (m: RaceModeReport) => string] => [
      `  ${k}`,
      (m) => String(m[k]),
    ]),
    ["reports replayed", (m) => String(m.events)],
    ["allocations", (m) => String(m.allocations)],
    ["frees", (m) => String(m.frees)],
    ["  on another thread", (m) => String(m.crossThreadFrees)],
    ["live: replayed", (m) => String(m.replayedLive)],
    ["live: allocator", (m) => String(m.allocatorLive)],
    ["live sets equal", (m) => (m.liveSetEqual ? "yes" : "no")],
    ["time (ms)", (m) => String(m.durationMs)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const lines = [
    `allocwatch race: ${r.threads} threads, ${r.operations} operations per run, seed ${r.seed}, ` +
      `${r.preset} ${r.memoryType}`,
    "",
    `${"".padEnd(width)}${"naive".padStart(10)}${"ordered".padStart(10)}`,
    ...rows.map(
      ([label, value]) =>
        `${label.padEnd(width)}${value(r.naive).padStart(10)}${value(r.ordered).padStart(10)}`,
    ),
    "",
    r.ordered.anomalies === 0 && r.liveSetsEqual
      ? "ordered reporting is exact: no anomaly, and the replayed live set equals the allocator's."
      : "ordered reporting FAILED: see the anomalies above.",
    `naive reporting (the original's order, identity by address): ${r.naive.anomalies} anomalies.`,
  ];
  return `${lines.join("\n")}\n`;
}
