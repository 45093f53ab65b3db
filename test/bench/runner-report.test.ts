// The benchmark runner's argument parsing and JSON report shape, on a trivial fake benchmark.
// No timing assertions: benchmarks never run inside the pass/fail tests.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseRunnerArgs } from "../../bench/harness/args.js";
import type { Benchmark } from "../../bench/harness/benchmark.js";
import { BenchmarkSkippedError } from "../../bench/harness/errors.js";
import { formatTable, writeJsonReport } from "../../bench/harness/report.js";
import { runBenchmarks } from "../../bench/harness/runner.js";

function fakeBenchmark(name: string, values: number[], fail = false): Benchmark & { calls: string[] } {
  const calls: string[] = [];
  let next = 0;
  return {
    name,
    tier: "micro",
    description: "fake",
    calls,
    metrics: [
      { name, unit: "ops/s", target: 10, comparison: ">=" },
      { name: `${name}_latency_ms`, unit: "ms", target: 1, comparison: "<=" },
    ],
    warmupRuns: 1,
    async open() {
      calls.push("open");
      return {
        async runOnce() {
          calls.push("run");
          if (fail) throw new Error("fixture broke");
          const value = values[next++ % values.length]!;
          return { [name]: value, [`${name}_latency_ms`]: value / 10 };
        },
        async close() {
          calls.push("close");
        },
      };
    },
  };
}

test("parseRunnerArgs reads every option and splits comma lists", () => {
  const options = parseRunnerArgs([
    "--quick",
    "--json",
    "out.json",
    "--only",
    "a,b",
    "--only",
    "c",
    "--runs",
    "7",
  ]);
  assert.deepEqual(options, {
    quick: true,
    jsonPath: "out.json",
    only: ["a", "b", "c"],
    runs: 7,
    list: false,
    help: false,
  });
  assert.deepEqual(parseRunnerArgs([]), {
    quick: false,
    jsonPath: undefined,
    only: [],
    runs: undefined,
    list: false,
    help: false,
  });
});

test("parseRunnerArgs rejects unknown flags, missing values and bad run counts with BENCH_USAGE", () => {
  for (const argv of [["--fast"], ["--json"], ["--runs", "0"], ["--runs", "x"], ["--only", ""], ["extra"]]) {
    assert.throws(() => parseRunnerArgs(argv), { code: "BENCH_USAGE" }, argv.join(" "));
  }
});

test("runBenchmarks warms up, runs at least 5 times and reports median, min and max per metric", async () => {
  const fake = fakeBenchmark("fake_ops_per_s", [30, 10, 50, 20, 40, 5]);
  const progress: string[] = [];
  const report = await runBenchmarks({ quick: true, only: [], runs: undefined }, [fake], {
    progress: (line) => progress.push(line),
  });
  // warm-up consumed 30; measured runs are 10, 50, 20, 40, 5.
  assert.deepEqual(fake.calls, ["open", "run", "run", "run", "run", "run", "run", "close"]);
  const headline = report.results["fake_ops_per_s"]!;
  assert.deepEqual(headline.runs, [10, 50, 20, 40, 5]);
  assert.equal(headline.value, 20);
  assert.equal(headline.min, 5);
  assert.equal(headline.max, 50);
  assert.equal(headline.target, 10);
  assert.equal(headline.met, true);
  assert.equal(headline.unit, "ops/s");
  const latency = report.results["fake_ops_per_s_latency_ms"]!;
  assert.equal(latency.value, 2);
  assert.equal(latency.met, false, "2 ms is above the <= 1 ms target");
  assert.equal(report.quick, true);
  assert.ok(progress.some((line) => line.includes("run 5/5")));
});

test("the JSON report has the machine and results shape", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bench-report-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const report = await runBenchmarks(
    { quick: false, only: ["b_ops_per_s_latency_ms"], runs: 6 },
    [fakeBenchmark("a_ops_per_s", [1]), fakeBenchmark("b_ops_per_s", [1, 2, 3, 4, 5, 6, 7])],
    { progress: () => {} },
  );
  const path = join(dir, "out.json");
  writeJsonReport(path, report);
  const json = JSON.parse(readFileSync(path, "utf8"));
  assert.deepEqual(Object.keys(json.results).sort(), ["b_ops_per_s", "b_ops_per_s_latency_ms"]);
  for (const key of ["cores", "cpuModel", "memoryBytes", "node", "platform", "loadavg"]) {
    assert.ok(key in json.machine, `machine.${key}`);
  }
  assert.equal(typeof json.machine.cores, "number");
  assert.equal(json.machine.loadavg.length, 3);
  const result = json.results.b_ops_per_s;
  assert.deepEqual(result.runs, [2, 3, 4, 5, 6, 7]);
  assert.equal(result.value, 4.5);
  for (const key of ["value", "unit", "runs", "min", "max", "target", "met"]) assert.ok(key in result, key);
});

test("a failing benchmark is recorded with its error and the others still run", async () => {
  const report = await runBenchmarks(
    { quick: true, only: [], runs: undefined },
    [fakeBenchmark("broken_ops_per_s", [1], true), fakeBenchmark("fine_ops_per_s", [11])],
    { progress: () => {} },
  );
  assert.equal(report.results["broken_ops_per_s"]!.value, null);
  assert.equal(report.results["broken_ops_per_s"]!.met, false);
  assert.match(report.results["broken_ops_per_s"]!.error!, /fixture broke/);
  assert.equal(report.results["fine_ops_per_s"]!.value, 11);
});

test("--only with an unknown name fails with BENCH_UNKNOWN before anything runs", async () => {
  const fake = fakeBenchmark("a_ops_per_s", [1]);
  await assert.rejects(
    runBenchmarks({ quick: true, only: ["nope"], runs: undefined }, [fake], { progress: () => {} }),
    { code: "BENCH_UNKNOWN" },
  );
  assert.deepEqual(fake.calls, []);
});

test("a benchmark that cannot run here (BenchmarkSkippedError) is reported skipped with its reason, not failed", async () => {
  const skipping: Benchmark = {
    name: "needs_python_us",
    tier: "micro",
    description: "skips",
    metrics: [{ name: "needs_python_us", unit: "us", comparison: "<=" }],
    async open() {
      throw new BenchmarkSkippedError("python3 is not installed");
    },
  };
  const progress: string[] = [];
  const report = await runBenchmarks({ quick: true, only: [], runs: undefined }, [skipping], {
    progress: (line) => progress.push(line),
  });
  const result = report.results["needs_python_us"]!;
  assert.equal(result.skipped, "python3 is not installed");
  assert.equal(result.error, undefined, "not an error: bench/run.js exits 0 for it");
  assert.equal(result.value, null);
  assert.match(formatTable(report), /needs_python_us .*SKIPPED: python3 is not installed/);
  assert.ok(progress.some((line) => line.includes("SKIPPED python3 is not installed")));
});
