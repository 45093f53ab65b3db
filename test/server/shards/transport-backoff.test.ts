// A shard whose worker keeps dying is respawned with backoff, on real worker threads: each delay is
// respawnDelayMs doubled per failure in a row, at most maxRespawnDelayMs (a longer respawnDelayMs is kept
// and not doubled), and a worker that stayed up stableAfterMs starts both the delays and the give-up
// count over. Delays are read from the pool's log (exact) and measured from a worker's exit to the next
// worker's start: never shorter than the delay, and not much longer.
import assert from "node:assert/strict";
import { test } from "node:test";
import { kernelDescriptorDuplication } from "../../../src/server/descriptor-dup.js";
import type { ShardPoolOptions } from "../../../src/server/shards/shard-pool.js";
import { waitFor } from "../../support/wait-for.js";
import { startTestPool, type TestPool } from "./transport-harness.js";
import type { TestShardData } from "./transport-shard.js";

const duplication = kernelDescriptorDuplication();
const needsAddon = duplication.available ? {} : { skip: `addon not built: ${duplication.unavailableReason}` };

/**
 * How early a timer may fire as performance.now() sees it: libuv keeps loop time in whole ms, so a
 * timer can run up to 1 ms before its delay has passed by a finer clock. Anything earlier is a defect.
 */
const TIMER_EARLY_MS = 1;
/** How much longer than its delay a respawn may take: a worker's start on a loaded 2-core machine. */
const START_SLACK_MS = 3000;

type WaitAsync = (
  array: Int32Array,
  index: number,
  value: number,
  timeoutMs: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
// ES2024 (lib ES2022 here); in Node since 16.
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/**
 * The main thread's performance.now() at each later start of `shard`'s worker (transport-shard.ts bumps
 * and notifies `starts`): woken by the worker itself, so a time is never before the start it records.
 */
function watchStarts(starts: SharedArrayBuffer, shard: number): { times: number[]; stop(): Promise<void> } {
  const counts = new Int32Array(starts);
  const times: number[] = [];
  let seen = Atomics.load(counts, shard);
  let stopped = false;
  const watching = (async () => {
    while (!stopped) {
      const waited = waitAsync(counts, shard, seen, 50);
      if (waited.async) await waited.value;
      const now = performance.now();
      for (const count = Atomics.load(counts, shard); seen < count; seen++) times.push(now);
    }
  })();
  return {
    times,
    stop: async () => {
      stopped = true;
      // A pending waitAsync keeps nothing alive: wake it rather than leave it for its timeout.
      Atomics.notify(counts, shard);
      await watching;
    },
  };
}

/** The delays the pool said it would wait before each respawn, in order. */
function plannedDelays(logLines: string[]): number[] {
  return logLines
    .map((line) => JSON.parse(line) as { msg: string; delayMs?: number })
    .filter((entry) => /shard worker is restarted in/.test(entry.msg))
    .map((entry) => entry.delayMs!);
}

interface BackoffRun extends TestPool {
  /** performance.now() at each onShardExit (called just before the respawn timer is set). */
  exits: number[];
  starts: ReturnType<typeof watchStarts>;
  startCount(): number;
  close(): Promise<void>;
}

async function startBackoffPool(
  data: Omit<TestShardData, "starts">,
  options: Partial<ShardPoolOptions>,
): Promise<BackoffRun> {
  const startsBuffer = new SharedArrayBuffer(4);
  const started = await startTestPool(1, { ...data, starts: startsBuffer }, options);
  const exits: number[] = [];
  started.pool.onShardExit(() => exits.push(performance.now()));
  const starts = watchStarts(startsBuffer, 0);
  return {
    ...started,
    exits,
    starts,
    startCount: () => Atomics.load(new Int32Array(startsBuffer), 0),
    close: async () => {
      await started.pool.close();
      await starts.stop();
    },
  };
}

/** Each respawn came no earlier than its delay after the exit before it, and not much later. */
function assertGaps(run: BackoffRun, delaysMs: number[]): void {
  assert.ok(run.starts.times.length >= delaysMs.length, `${run.starts.times.length} respawns timed`);
  delaysMs.forEach((delayMs, i) => {
    const gapMs = run.starts.times[i]! - run.exits[i]!;
    const what = `respawn ${i + 1}: ${gapMs.toFixed(1)} ms after the exit, delay ${delayMs} ms`;
    assert.ok(gapMs >= delayMs - TIMER_EARLY_MS, `${what}: too early`);
    assert.ok(gapMs < delayMs + START_SLACK_MS, `${what}: too late`);
  });
}

async function untilDown(run: BackoffRun): Promise<void> {
  await waitFor(() => /shard is down/.test(run.logLines.join("")), {
    what: "shard 0 to be given up",
    timeoutMs: 30_000,
    detail: () => run.logLines.join(""),
  });
}

test("respawn delays double from respawnDelayMs per failure in a row", needsAddon, async () => {
  const run = await startBackoffPool(
    { dieAfterReadyOnRestart: true },
    { respawnDelayMs: 50, maxRestarts: 4 },
  );
  try {
    run.pool.post(0, { do: "exit" });
    await untilDown(run);
    assert.deepEqual(plannedDelays(run.logLines), [50, 100, 200, 400]);
    assert.equal(run.startCount(), 1 + 4);
    assert.equal(run.exits.length, 5);
    await waitFor(() => run.starts.times.length === 4, { what: "every respawn to be timed" });
    assertGaps(run, [50, 100, 200, 400]);
  } finally {
    await run.close();
  }
});

test("respawn delays stop growing at maxRespawnDelayMs", needsAddon, async () => {
  const run = await startBackoffPool(
    { dieAfterReadyOnRestart: true },
    { respawnDelayMs: 40, maxRespawnDelayMs: 100, maxRestarts: 4 },
  );
  try {
    run.pool.post(0, { do: "exit" });
    await untilDown(run);
    assert.deepEqual(plannedDelays(run.logLines), [40, 80, 100, 100]);
    assert.equal(run.startCount(), 1 + 4);
    await waitFor(() => run.starts.times.length === 4, { what: "every respawn to be timed" });
    assertGaps(run, [40, 80, 100, 100]);
  } finally {
    await run.close();
  }
});

test("a respawnDelayMs above maxRespawnDelayMs is every delay, never doubled", needsAddon, async () => {
  const run = await startBackoffPool(
    { dieAfterReadyOnRestart: true },
    { respawnDelayMs: 120, maxRespawnDelayMs: 60, maxRestarts: 3 },
  );
  try {
    run.pool.post(0, { do: "exit" });
    await untilDown(run);
    assert.deepEqual(plannedDelays(run.logLines), [120, 120, 120]);
    assert.equal(run.startCount(), 1 + 3);
    await waitFor(() => run.starts.times.length === 3, { what: "every respawn to be timed" });
    assertGaps(run, [120, 120, 120]);
  } finally {
    await run.close();
  }
});

test(
  "a worker that stayed up stableAfterMs starts the delays and the give-up count over",
  needsAddon,
  async () => {
    const stableAfterMs = 1000;
    // Start 1 is ended by the test, 2 dies at once (2 failures: one more and the shard is down), 3 stays
    // up past stableAfterMs and is then ended by the test, 4 and 5 die at once.
    const run = await startBackoffPool(
      { dieAfterReadyOnStarts: [2, 4, 5] },
      { respawnDelayMs: 30, maxRestarts: 2, stableAfterMs },
    );
    try {
      run.pool.post(0, { do: "exit" });
      const upAt = await waitFor(
        () => {
          if (run.startCount() < 3) return undefined;
          try {
            run.pool.call(0, { echo: "up" });
            return performance.now();
          } catch {
            return undefined; // still restarting
          }
        },
        { what: "start 3 to be up", detail: () => run.logLines.join("") },
      );
      assert.equal(run.startCount(), 3);
      assert.deepEqual(plannedDelays(run.logLines), [30, 60]);
      // The worker was ready before upAt: once this holds it has run longer than stableAfterMs.
      await waitFor(() => performance.now() - upAt > stableAfterMs, {
        what: "start 3 to have run stableAfterMs",
        timeoutMs: stableAfterMs + 10_000,
      });
      assert.equal(run.startCount(), 3, "start 3 is still the shard's worker");
      run.pool.post(0, { do: "exit" });
      await untilDown(run);
      // Without the reset, start 3's exit would have been failure 3: down, with no start 4.
      assert.deepEqual(plannedDelays(run.logLines), [30, 60, 30, 60]);
      assert.equal(run.startCount(), 5);
      assert.match(run.logLines.join(""), /failed 3 times in a row/);
      await waitFor(() => run.starts.times.length === 4, { what: "every respawn to be timed" });
      assertGaps(run, [30, 60, 30, 60]);
    } finally {
      await run.close();
    }
  },
);
