// The benchmark runner: `npm run bench -- [--quick] [--json FILE] [--only NAME]`. Table on stdout,
// progress on stderr. Exit code 1 when a benchmark failed to produce its figures or the usage is wrong;
// a missed target is reported, not an error (it is a finding, documented in docs/PERFORMANCE.md).
import { BENCHMARKS } from "./catalog.js";
import { parseRunnerArgs, USAGE } from "./harness/args.js";
import { formatNumber, formatTable, writeJsonReport } from "./harness/report.js";
import { runBenchmarks } from "./harness/runner.js";

async function main(argv: readonly string[]): Promise<number> {
  const options = parseRunnerArgs(argv);
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (options.list) {
    for (const b of BENCHMARKS) {
      for (const m of b.metrics) {
        const target = m.target === undefined ? "" : ` target ${m.comparison} ${formatNumber(m.target)}`;
        process.stdout.write(`${m.name.padEnd(36)} ${b.tier.padEnd(5)} ${m.unit}${target}\n`);
      }
    }
    return 0;
  }
  const report = await runBenchmarks(options, BENCHMARKS, {
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(formatTable(report));
  if (options.jsonPath !== undefined) writeJsonReport(options.jsonPath, report);
  return Object.values(report.results).some((r) => r.error !== undefined) ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const error = err as Error & { code?: string };
    process.stderr.write(`bench: ${error.message}\n`);
    process.exitCode = error.code === "BENCH_USAGE" || error.code === "BENCH_UNKNOWN" ? 2 : 1;
  },
);
