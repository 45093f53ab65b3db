import { Command, InvalidArgumentError, Option } from "commander";
import { DEVICE_PRESETS } from "../../device/presets.js";
import { allConditions, CHANNELS, type Channel, type RaceCondition } from "../../race/condition.js";
import {
  type CellReport,
  type MatrixReport,
  type MatrixScale,
  matrixScaleOf,
  runMatrix,
} from "../../race/matrix.js";
import { REPLAY_ANOMALY_KINDS } from "../../race/replay-anomaly-kind.js";
import { STRATEGIES, STRATEGY_NAMES, type StrategyName } from "../../race/strategy.js";

interface RaceCommandOptions extends MatrixScale {
  strategy?: StrategyName[];
  channel?: Channel[];
  crossThreadFrees?: boolean;
  sharedAddress?: boolean;
  matrix?: boolean;
  windowSpins: number;
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

/** A repeatable option whose values come from `allowed`; repeats collect, duplicates are kept once. */
function oneOf<T extends string>(allowed: readonly T[]) {
  return (value: string, previous: T[] | undefined): T[] => {
    if (!(allowed as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`use one of ${allowed.join(", ")} (repeat the option for several)`);
    }
    const list = previous ?? [];
    return list.includes(value as T) ? list : [...list, value as T];
  };
}

const HELP = `
Strategies (how a buffer's lifecycle is reported; see docs/RACE.md):
${STRATEGY_NAMES.map((n) => `  ${n.padEnd(8)} ${STRATEGIES[n].summary}`).join("\n")}

Conditions:
  --channel fifo         one report channel for the process, written at the call (the default)
  --channel per-thread   one connection per thread; the server reads them in whatever order data arrives
  --channel async-queue  each thread queues its reports; another thread drains the queues into the
                         connection in whatever order it polls them
  --cross-thread-frees   buffers handed to another thread as soon as they have an address, freed there
  --shared-address       some buffers get a view: a second live buffer at the same address (as tt-metal's
                         mesh buffers and kernel-binary views)

Each cell is judged two ways: --schedules forced schedules of small programs (seeded), and --repeat runs of
the workload on --threads real worker threads sharing --devices devices, whose reports are replayed as the
strategy's server would (address-keyed as the original server; allocwatch's sequence order for "ordered").
A cell is FAIL when any schedule or run left the server's picture wrong (an anomaly, or a live set that is
not the allocator's); clean when none did. Throughput: allocate+free pairs per second with tracking on,
median of the runs, relative to the same work with tracking off.

Exit code 1 when "ordered" fails in any cell it ran in (the others failing is what the table shows).`;

/**
 * `allocwatch race`: judges the seed's three fixes, the original order and allocwatch's, condition by
 * condition (src/race/matrix.ts).
 */
export function raceCommand(): Command {
  return new Command("race")
    .description(
      "judge the original reporting order, the seed's three fixes and ordering at the source, condition by condition",
    )
    .addOption(
      new Option("--strategy <name>", "strategy to run; repeat for several (default: all)").argParser(
        oneOf(STRATEGY_NAMES),
      ),
    )
    .addOption(
      new Option(
        "--channel <name>",
        "how reports travel: fifo, per-thread or async-queue; repeat for several (default: fifo; with --matrix all)",
      ).argParser(oneOf(CHANNELS)),
    )
    .option("--cross-thread-frees", "hand a share of buffers to another thread, which frees them")
    .option("--shared-address", "give a share of buffers a view: a second live buffer at the same address")
    .option("--matrix", "run every strategy under every condition (all channels, with and without each flag)")
    .option("-t, --threads <n>", "worker threads sharing the devices", integerOption(1, 64, "4"), 4)
    .option("--devices <n>", "devices the threads share", integerOption(1, 8, "2"), 2)
    .option(
      "-n, --operations <n>",
      "allocations + frees per threaded run",
      integerOption(1, 1_000_000, "40000"),
      40000,
    )
    .option(
      "-s, --seed <n>",
      "seed of the workload and of the explored schedules",
      integerOption(0, 0xffffffff, "42"),
      1,
    )
    .option(
      "--repeat <n>",
      "threaded runs per cell (throughput is their median)",
      integerOption(1, 50, "3"),
      3,
    )
    .option("--schedules <n>", "forced schedules explored per cell", integerOption(0, 100000, "200"), 200)
    .option(
      "--window-spins <n>",
      "largest window between a change and its report in the threaded runs, spin-loop iterations " +
        "(the work a lock held across the report serialises)",
      integerOption(0, 10_000_000, "2000"),
      2000,
    )
    .option("--preset <name>", "device preset", presetOption, "wormhole_b0_n150")
    .option("--json", "print the result as JSON")
    .addHelpText("after", HELP)
    .action(async (options: RaceCommandOptions) => {
      const channels = options.channel ?? (options.matrix ? [...CHANNELS] : ["fifo" as const]);
      const conditions: RaceCondition[] = options.matrix
        ? allConditions(channels)
        : channels.map((channel) => ({
            channel,
            crossThreadFrees: options.crossThreadFrees === true,
            sharedAddress: options.sharedAddress === true,
          }));
      const tty = process.stderr.isTTY === true;
      const report = await runMatrix({
        strategies: options.strategy ?? [...STRATEGY_NAMES],
        conditions,
        ...matrixScaleOf(options),
        maxDelaySpins: options.windowSpins,
        presetName: options.preset,
        onCell: (strategy, condition) => {
          const line = `race: ${condition}: ${strategy}`;
          process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
        },
      });
      if (tty) process.stderr.write("\r\x1b[K");
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : renderMatrix(report));
      const orderedFailed = report.cells.some((c) => c.strategy === "ordered" && c.verdict === "failing");
      process.exitCode = orderedFailed ? 1 : 0;
    });
}

function cellText(c: CellReport): string {
  return `${c.verdict === "clean" ? "clean" : "FAIL "} ${c.relativeThroughput.toFixed(2)}x`;
}

export function renderMatrix(r: MatrixReport): string {
  const byKey = new Map(r.cells.map((c) => [`${c.condition}/${c.strategy}`, c]));
  const conditionWidth = Math.max(9, ...r.conditions.map((c) => c.length)) + 2;
  const columnWidth = 14;
  const lines = [
    `allocwatch race: ${r.threads} threads on ${r.devices} ${r.preset} device(s), ${r.operations} operations ` +
      `per run, ${r.repeat} run(s) and ${r.schedules} schedules per cell, seed ${r.seed}`,
    "",
    `${"condition".padEnd(conditionWidth)}${r.strategies.map((s) => s.padEnd(columnWidth)).join("")}`,
    ...r.conditions.map(
      (condition) =>
        `${condition.padEnd(conditionWidth)}${r.strategies
          .map((s) => cellText(byKey.get(`${condition}/${s}`)!).padEnd(columnWidth))
          .join("")}`,
    ),
    "",
    "clean: no explored schedule and no threaded run left the server's picture wrong; FAIL: one did.",
    "Nx: allocate+free pairs/s with tracking on, relative to tracking off (median of the runs).",
    "lock waits (below): share of the strategy's lock steps that found the lock held by another task, in the",
    "explored schedules (every step an interleaving: what the lock serialises when tasks run at once) and in",
    "the threaded runs (what it serialised on this machine).",
    "",
  ];
  const kinds = REPLAY_ANOMALY_KINDS;
  const header = [
    "strategy".padEnd(9),
    "condition".padEnd(conditionWidth),
    ...kinds.map((k) => k.padStart(k.length + 1)),
    " live set",
    " schedules failing",
    " lock waits: schedules threads",
    " pairs/s median (min-max)",
  ].join("");
  lines.push(
    "Anomalies by kind in the threaded runs (summed over the runs), and the explored schedules:",
    header,
  );
  for (const c of r.cells) {
    lines.push(
      [
        c.strategy.padEnd(9),
        c.condition.padEnd(conditionWidth),
        ...kinds.map((k) => String(c.threads[k]).padStart(k.length + 1)),
        (c.threads.liveSetEqual ? "equal" : "WRONG").padStart(9),
        `${c.schedules.failing}/${c.schedules.schedules}`.padStart(18),
        `${(100 * c.schedules.lockWaitShare).toFixed(1)}%`.padStart(22),
        `${(100 * c.threads.lockWaitShare).toFixed(1)}%`.padStart(8),
        ` ${c.pairsPerSecond.median} (${c.pairsPerSecond.min}-${c.pairsPerSecond.max})`,
      ].join(""),
    );
  }
  const counterexamples = r.cells.filter((c) => c.schedules.counterexample !== undefined);
  if (counterexamples.length > 0 && r.conditions.length === 1) {
    lines.push("", "First counterexample of each failing cell (schedule number: what the server saw):");
    for (const c of counterexamples) {
      const x = c.schedules.counterexample!;
      lines.push(`  ${c.strategy}: schedule ${x.schedule}: ${x.anomaly}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
