// `allocwatch race` end to end, as a user runs it: the matrix as JSON with small sizes, one condition as a
// table, and bad options refused.
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
const STRATEGIES = ["naive", "option1", "option2", "option3", "ordered"];

interface Cell {
  strategy: string;
  condition: string;
  verdict: string;
  schedules: {
    schedules: number;
    failing: number;
    lockWaitShare: number;
    counterexample?: { schedule: number; anomaly: string };
  };
  threads: Record<string, number | boolean>;
  pairsPerSecond: { median: number; min: number; max: number };
  baselinePairsPerSecond: { median: number; min: number; max: number };
  relativeThroughput: number;
}

test("race --matrix --json: every strategy under every condition, the pinned cells as claimed", async () => {
  const { stdout, stderr } = await run(
    process.execPath,
    [cli, "race", "--matrix", "--json", "-t", "2", "-n", "2000", "--repeat", "1", "--schedules", "60"],
    { timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
  );
  const report = JSON.parse(stdout) as { cells: Cell[]; conditions: string[]; strategies: string[] } & Record<
    string,
    unknown
  >;
  assert.deepEqual(report.strategies, STRATEGIES);
  assert.equal(report.conditions.length, 12, "3 channels x cross-thread frees x shared address");
  assert.equal(report.cells.length, 60);
  assert.equal(report.threads, 2);
  assert.equal(report.schedules, 60);
  for (const c of report.cells) {
    for (const key of ["anomalies", ...KINDS, "reports", "allocations", "frees"]) {
      assert.equal(typeof c.threads[key], "number", `${c.strategy}/${c.condition}: threads.${key}`);
    }
    for (const waits of [c.threads.lockWaitShare as number, c.schedules.lockWaitShare]) {
      assert.ok(waits >= 0 && waits <= 1, "lock waits are a share");
      if (c.strategy === "naive" || c.strategy === "option1" || c.strategy === "ordered") {
        assert.equal(waits, 0, `${c.strategy} takes no lock of its own`);
      }
    }
    const sum = KINDS.reduce((n, k) => n + (c.threads[k] as number), 0);
    assert.equal(sum, c.threads.anomalies, "anomalies is the sum of the kinds");
    assert.equal(c.schedules.schedules, 60);
    assert.ok(c.pairsPerSecond.median > 0 && c.baselinePairsPerSecond.median > 0);
    assert.ok(
      c.pairsPerSecond.min <= c.pairsPerSecond.median && c.pairsPerSecond.median <= c.pairsPerSecond.max,
    );
    assert.ok(c.relativeThroughput > 0);
    assert.ok(c.verdict === "clean" || c.verdict === "failing");
    if (c.verdict === "clean") {
      assert.equal(c.schedules.failing, 0);
      assert.equal(c.threads.anomalies, 0);
      assert.equal(c.threads.liveSetEqual, true);
    }
  }
  const cell = (strategy: string, condition: string): Cell => {
    const found = report.cells.find((c) => c.strategy === strategy && c.condition === condition);
    assert.ok(found, `${strategy}/${condition}`);
    return found;
  };
  const failingBySchedule = (strategy: string, condition: string): void => {
    const c = cell(strategy, condition);
    assert.equal(c.verdict, "failing", `${strategy}/${condition}`);
    assert.ok(c.schedules.failing > 0, `${strategy}/${condition}: a counterexample schedule`);
    assert.match(c.schedules.counterexample!.anomaly, /[A-Z_]+: |live set/);
  };
  assert.equal(cell("option3", "fifo").verdict, "clean");
  failingBySchedule("option3", "per-thread");
  failingBySchedule("option3", "fifo+shared-address");
  assert.equal(cell("option2", "fifo").verdict, "clean");
  // The price of the global lock, on any machine: in the same schedules on two devices, Option 2's lock
  // is found held more often than Option 3's per-device one.
  assert.ok(
    cell("option2", "fifo").schedules.lockWaitShare > cell("option3", "fifo").schedules.lockWaitShare,
    "option2's global lock serialises more than option3's per-device lock",
  );
  for (const condition of report.conditions) {
    assert.equal(cell("naive", condition).verdict, "failing", `naive/${condition}`);
    assert.equal(cell("ordered", condition).verdict, "clean", `ordered/${condition}`);
  }
  assert.match(
    stderr,
    /race: async-queue\+cross-thread-frees\+shared-address: ordered/,
    "progress on stderr",
  );
});

test("race with one condition prints a table and the counterexamples; a bad option is refused with a hint", async () => {
  const { stdout } = await run(
    process.execPath,
    [
      cli,
      "race",
      "--channel",
      "per-thread",
      "--strategy",
      "option3",
      "--strategy",
      "ordered",
      "-t",
      "2",
      "-n",
      "2000",
      "--repeat",
      "1",
      "--schedules",
      "40",
    ],
    { timeout: 60_000 },
  );
  assert.match(
    stdout,
    /^allocwatch race: 2 threads on 2 wormhole_b0_n150 device\(s\), 2000 operations per run/,
  );
  assert.match(stdout, /\nper-thread\s+FAIL\s+[\d.]+x\s+clean\s+[\d.]+x\s*\n/);
  assert.match(stdout, /option3: schedule \d+: [A-Z_]+: /);

  for (const [args, hint] of [
    [["--threads", "0"], /use a whole number from 1 to 64, e\.g\. 4/],
    [["--strategy", "option4"], /use one of naive, option1, option2, option3, ordered/],
    [["--channel", "udp"], /use one of fifo, per-thread, async-queue/],
  ] as const) {
    await assert.rejects(
      run(process.execPath, [cli, "race", ...args]),
      (err: { code: number; stderr: string }) => {
        assert.equal(err.code, 1);
        assert.match(err.stderr, hint);
        return true;
      },
    );
  }
});

test("race --help explains each strategy and condition", async () => {
  const { stdout } = await run(process.execPath, [cli, "race", "--help"]);
  for (const word of [
    ...STRATEGIES,
    "fifo",
    "per-thread",
    "async-queue",
    "--cross-thread-frees",
    "--shared-address",
    "--matrix",
    "--json",
  ]) {
    assert.ok(stdout.includes(word), word);
  }
  assert.match(stdout, /Option 3 .*per-device mutex/s);
});
