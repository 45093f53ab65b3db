// The cells of the race matrix that matter. Every strategy of src/race/strategy.ts runs a program of tasks
// sharing two devices, and a scheduler decides at every step which task goes on and when each channel
// delivers. A cell claimed clean holds for every schedule fast-check's scheduler explores (fc.assert
// passes). A cell claimed failing has a counterexample found every time: by a fixed fast-check seed, by the
// seeded explorer `allocwatch race` uses (explore.ts), or by a schedule forced step by step.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ChangeOp } from "../../src/device/change.js";
import { allConditions, conditionLabel, type RaceCondition } from "../../src/race/condition.js";
import { explore } from "../../src/race/explore.js";
import { judge } from "../../src/race/judge.js";
import {
  type ModelOp,
  type ModelProgram,
  type ModelScheduler,
  runModel,
} from "../../src/race/schedule-model.js";
import { STRATEGIES, type StrategyName } from "../../src/race/strategy.js";

const programArb: fc.Arbitrary<ModelProgram> = fc.array(
  fc
    .tuple(
      fc.constantFrom<ModelOp>("alloc", "alloc-handed"),
      fc.array(fc.constantFrom<ModelOp>("alloc", "alloc-handed", "free", "free-handed"), {
        minLength: 1,
        maxLength: 5,
      }),
    )
    .map(([first, rest]) => [first, ...rest]),
  { minLength: 2, maxLength: 3 },
);

/** Run one program under fast-check's scheduler; throws when the server's picture is wrong. */
async function exact(
  s: fc.Scheduler,
  strategy: StrategyName,
  condition: RaceCondition,
  program: ModelProgram,
): Promise<void> {
  const scheduler = { point: (label: string) => s.schedule(Promise.resolve(), label) };
  const outcome = await s.waitFor(runModel(STRATEGIES[strategy], condition, program, scheduler));
  const verdict = judge(STRATEGIES[strategy], outcome.arrived, outcome.snapshots);
  assert.equal(verdict.anomalies, 0, `anomalies: ${JSON.stringify(verdict.byKind)}`);
  assert.equal(verdict.liveSetEqual, true, "the server's live set is not the allocator's");
}

const cleanIn = (strategy: StrategyName, condition: RaceCondition, numRuns: number) =>
  fc.assert(
    fc.asyncProperty(fc.scheduler(), programArb, (s, program) => exact(s, strategy, condition, program)),
    { numRuns, seed: 0xc1ea },
  );

/** A fixed fast-check seed finds a counterexample every time; its error says what the server saw. */
async function failsIn(strategy: StrategyName, condition: RaceCondition): Promise<void> {
  await assert.rejects(
    fc.assert(
      fc.asyncProperty(fc.scheduler(), programArb, (s, program) => exact(s, strategy, condition, program)),
      { numRuns: 300, seed: 0x5eed, endOnFailure: true },
    ),
    (err: Error) => {
      assert.match(err.message, /Property failed after \d+ tests/);
      assert.match(
        String((err.cause as Error | undefined)?.message),
        /anomalies|live set/,
        `${strategy} in ${conditionLabel(condition)}`,
      );
      return true;
    },
    `${strategy} in ${conditionLabel(condition)} should fail for some schedule`,
  );
}

/**
 * The counterexamples that need one task's report to wait while several steps of others go by: uniform
 * choices (fast-check's) find them after hundreds of runs, the seeded priority explorer in a few dozen.
 */
async function explorerFails(strategy: StrategyName, condition: RaceCondition): Promise<void> {
  const found = await explore(STRATEGIES[strategy], condition, { schedules: 200, seed: 1 });
  assert.ok(found.failing > 0, `${strategy} in ${conditionLabel(condition)}: no failing schedule`);
  assert.match(found.counterexample!.anomaly, /^[A-Z_]+: |live set/);
}

const fifo: RaceCondition = { channel: "fifo", crossThreadFrees: false, sharedAddress: false };
const perThread: RaceCondition = { ...fifo, channel: "per-thread" };
const asyncQueue: RaceCondition = { ...fifo, channel: "async-queue" };

test("option3 is clean under one FIFO channel without cross-thread frees or shared addresses", async () => {
  await cleanIn("option3", fifo, 300);
});

test("option3 fails with per-thread connections, an async queue, shared addresses or early cross-thread frees", async () => {
  await explorerFails("option3", perThread);
  await explorerFails("option3", asyncQueue);
  await failsIn("option3", { ...fifo, sharedAddress: true });
  // Freed on another thread between allocate and the per-device lock: FREE reported before its ALLOC.
  await failsIn("option3", { ...fifo, crossThreadFrees: true });
});

/** Resolves, in order, the oldest waiting point of each actor the script names ("t0", "deliver t1"). */
class ScriptedScheduler implements ModelScheduler {
  private readonly waiting: { actor: string; label: string; resolve: () => void }[] = [];
  readonly ran: string[] = [];

  point(label: string): Promise<void> {
    const actor = label.startsWith("deliver") ? label : label.split(" ")[0]!;
    return new Promise((resolve) => this.waiting.push({ actor, label, resolve }));
  }

  async drive<T>(work: Promise<T>, script: readonly string[]): Promise<T> {
    for (const actor of script) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const i = this.waiting.findIndex((w) => w.actor === actor);
      assert.ok(i >= 0, `no waiting point of ${actor} after ${this.ran.join(", ")}`);
      const [chosen] = this.waiting.splice(i, 1);
      this.ran.push(chosen!.label);
      chosen!.resolve();
    }
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const next = this.waiting.shift();
      if (next === undefined) return work;
      next.resolve();
    }
  }
}

test("option3, per-thread connections, the seed's timeline forced: the FREE arrives after the reused address's ALLOC", async () => {
  // t0 allocates and frees; t1 allocates the address t0 released. Under Option 3 the FREE is reported
  // under the lock before the release, but on t0's connection, which t1's connection overtakes.
  const scheduler = new ScriptedScheduler();
  const program: ModelProgram = [["alloc", "free"], ["alloc"]];
  const t0Allocates = ["t0", "t0", "t0", "t0", "t0", "t0", "deliver t0"]; // allocate .. unlock; ALLOC arrives
  const t0Frees = ["t0", "t0", "t0", "t0", "t0"]; // lock, window, report (FREE waits), unlock, release
  const t1Allocates = ["t1", "t1", "t1", "t1", "t1", "t1", "deliver t1", "deliver t0"];
  const outcome = await scheduler.drive(runModel(STRATEGIES.option3, perThread, program, scheduler), [
    ...t0Allocates,
    ...t0Frees,
    ...t1Allocates,
  ]);
  assert.deepEqual(
    outcome.arrived.map((e) => [e.op, e.address]),
    [
      [ChangeOp.ALLOC, 0x20],
      [ChangeOp.ALLOC, 0x20],
      [ChangeOp.FREE, 0x20],
    ],
    "ALLOC, then the reused address's ALLOC, then the FREE that came before it",
  );
  const verdict = judge(STRATEGIES.option3, outcome.arrived, outcome.snapshots);
  assert.equal(verdict.byKind.DUPLICATE_ALLOCATION, 1);
  assert.equal(verdict.liveSetEqual, false, "the server keeps t0's 64-byte buffer; t1's 128 bytes are live");
  // The same forced schedule with ordering at the source: the numbers put the FREE first.
  const ordered = new ScriptedScheduler();
  const t0OrderedAllocates = ["t0", "t0", "t0", "t0", "deliver t0"]; // allocate, publish, window, report
  const t0OrderedFrees = ["t0", "t0", "t0"]; // release, window, report (FREE waits)
  const t1OrderedAllocates = ["t1", "t1", "t1", "t1", "deliver t1", "deliver t0"];
  const out = await ordered.drive(runModel(STRATEGIES.ordered, perThread, program, ordered), [
    ...t0OrderedAllocates,
    ...t0OrderedFrees,
    ...t1OrderedAllocates,
  ]);
  assert.deepEqual(
    out.arrived.map((e) => e.seq),
    [1, 3, 2],
    "arrival order: ALLOC 1, ALLOC 3, then the FREE numbered 2",
  );
  const clean = judge(STRATEGIES.ordered, out.arrived, out.snapshots);
  assert.equal(clean.failures, 0);
});

test("option2 is clean under one FIFO channel, with or without cross-thread frees; fails per-thread and on shared addresses", async () => {
  await cleanIn("option2", fifo, 200);
  await cleanIn("option2", { ...fifo, crossThreadFrees: true }, 200);
  await explorerFails("option2", perThread);
  await failsIn("option2", { ...fifo, sharedAddress: true });
});

test("option2's price: in the same schedules on two devices its global lock is found held more often than option3's", async () => {
  const option2 = await explore(STRATEGIES.option2, fifo, { schedules: 100, seed: 1 });
  const option3 = await explore(STRATEGIES.option3, fifo, { schedules: 100, seed: 1 });
  assert.equal(option2.failing + option3.failing, 0, "both clean under one FIFO channel");
  assert.ok(option3.lockWaitShare > 0, "the per-device lock is contended too");
  assert.ok(
    option2.lockWaitShare > option3.lockWaitShare,
    `global ${option2.lockWaitShare} vs per-device ${option3.lockWaitShare}`,
  );
});

test("option1 is clean under one FIFO channel in every case (views are not reported); fails per-thread", async () => {
  for (const condition of allConditions(["fifo"])) await cleanIn("option1", condition, 100);
  await failsIn("option1", perThread);
  await explorerFails("option1", asyncQueue);
});

test("naive fails in every cell", async () => {
  for (const condition of allConditions()) await failsIn("naive", condition);
});

test("ordered is clean in every cell", async () => {
  for (const condition of allConditions()) await cleanIn("ordered", condition, 80);
});
