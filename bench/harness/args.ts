import { parseArgs } from "node:util";
import { BenchUsageError } from "./errors.js";

export interface RunnerOptions {
  quick: boolean;
  /** Where to write the JSON report; undefined = none. */
  jsonPath?: string;
  /** Benchmark or metric names to run; empty = all. */
  only: string[];
  /** Overrides every benchmark's measured run count (never below MIN_MEASURED_RUNS). */
  runs?: number;
  list: boolean;
  help: boolean;
}

export const USAGE = `usage: node dist/bench/run.js [--quick] [--json FILE] [--only NAME[,NAME]]... [--runs N] [--list]
  --quick        every benchmark at reduced size (all of them in under 60 s)
  --json FILE    also write the results as JSON to FILE
  --only NAME    run only this benchmark (or the benchmark reporting this metric); repeatable
  --runs N       measured runs per benchmark (at least 5)
  --list         print the benchmarks and their targets, run nothing`;

/** Parses the runner's command line (without `node` and the script). Throws BenchUsageError. */
export function parseRunnerArgs(argv: readonly string[]): RunnerOptions {
  let parsed: ReturnType<typeof parseArgsStrict>;
  try {
    parsed = parseArgsStrict(argv);
  } catch (err) {
    throw new BenchUsageError(`${(err as Error).message}\n${USAGE}`);
  }
  const { values } = parsed;
  const only = (values.only ?? []).flatMap((item) => item.split(",")).map((item) => item.trim());
  if (only.some((item) => item === "")) throw new BenchUsageError(`--only needs a name\n${USAGE}`);
  let runs: number | undefined;
  if (values.runs !== undefined) {
    runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1) {
      throw new BenchUsageError(`--runs must be a positive integer, got "${values.runs}"`);
    }
  }
  if (values.json === "") throw new BenchUsageError(`--json needs a file name\n${USAGE}`);
  return {
    quick: values.quick ?? false,
    jsonPath: values.json,
    only,
    runs,
    list: values.list ?? false,
    help: values.help ?? false,
  };
}

function parseArgsStrict(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: "boolean" },
      json: { type: "string" },
      only: { type: "string", multiple: true },
      runs: { type: "string" },
      list: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}
