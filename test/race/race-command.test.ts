// `allocwatch race --json` end to end, as a user runs it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
// The server's anomaly kind names (src/server/api-types.ts AnomalyKind).
const KINDS = [
  "UNKNOWN_FREE",
  "DUPLICATE_ALLOCATION",
  "ADDRESS_OVERLAP",
  "FREE_MISMATCH",
  "SEQUENCE_GAP",
  "DUPLICATE_SEQ",
];

test("race --json: naive reporting shows the seed's anomalies, ordered none, live sets equal, exit 0", async () => {
  const { stdout, stderr } = await run(
    process.execPath,
    [cli, "race", "--json", "--threads", "4", "--operations", "20000", "--seed", "7"],
    { timeout: 60_000 },
  );
  const report = JSON.parse(stdout);
  assert.equal(report.threads, 4);
  assert.equal(report.operations, 20000);
  assert.equal(report.seed, 7);
  assert.equal(typeof report.durationMs, "number");
  for (const mode of ["naive", "ordered"]) {
    for (const key of ["anomalies", ...KINDS, "events", "crossThreadFrees", "durationMs"]) {
      assert.equal(typeof report[mode][key], "number", `${mode}.${key}`);
    }
    assert.equal(report[mode].events, 20000);
    const sum = KINDS.reduce((n, k) => n + report[mode][k], 0);
    assert.equal(sum, report[mode].anomalies, `${mode}: anomalies is the sum of the kinds`);
  }
  assert.equal(report.ordered.anomalies, 0);
  assert.equal(report.liveSetsEqual, true);
  assert.ok(report.naive.anomalies > 0, "the naive order reproduces the race");
  assert.ok(
    report.naive.UNKNOWN_FREE + report.naive.DUPLICATE_ALLOCATION > 0,
    "the seed's kinds: unknown free, duplicate ALLOC",
  );
  assert.ok(report.ordered.crossThreadFrees > 0);
  assert.match(stderr, /race: ordered run 100%/, "progress goes to stderr");
});

test("race without --json prints a table; a bad option is refused with a hint and exit code 1", async () => {
  const { stdout } = await run(process.execPath, [cli, "race", "-n", "2000", "-t", "2"], { timeout: 60_000 });
  assert.match(stdout, /^allocwatch race: 2 threads, 2000 operations per run/);
  assert.match(stdout, /anomalies\s+\d+\s+0\n/);
  assert.match(stdout, /ordered reporting is exact/);

  await assert.rejects(
    run(process.execPath, [cli, "race", "--threads", "0"]),
    (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr, /use a whole number from 1 to 64, e\.g\. 4/);
      return true;
    },
  );
});
