// Four worker threads share two devices, under the hardest condition: per-thread connections, buffers
// freed on another thread than the one that allocated them, and views at live addresses. allocwatch's
// ordered reports leave the server's picture exact in any merge order; the same workload reported the
// original way does not (the checker is not blind).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { RaceCondition } from "../../src/race/condition.js";
import { judge } from "../../src/race/judge.js";
import { SeededRandom } from "../../src/race/random.js";
import type { ReplayEvent } from "../../src/race/replay.js";
import { runThreads } from "../../src/race/run.js";
import { STRATEGIES } from "../../src/race/strategy.js";

function shuffled(events: readonly ReplayEvent[], seed: number): ReplayEvent[] {
  const out = [...events];
  const rng = new SeededRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const hardest: RaceCondition = { channel: "per-thread", crossThreadFrees: true, sharedAddress: true };
const common = { condition: hardest, threads: 4, devices: 2, operations: 12000, seed: 11, tracking: true };

test("ordered, 4 threads on 2 shared devices: exact in any merge order, whatever the condition", async () => {
  const run = await runThreads({ ...common, strategy: "ordered" });
  assert.equal(run.events.length, 12000, "one report per allocator change, none for a view");
  assert.ok(run.counts.foreignFrees > 100, `frees on other threads: ${run.counts.foreignFrees}`);
  assert.ok(run.counts.views > 100, `views: ${run.counts.views}`);
  assert.equal(run.droppedReports, 0);
  const seqs = [...run.snapshots.values()].reduce((n, s) => n + s.seq, 0);
  assert.equal(seqs, 12000, "every change took a number on its device's shared counter");

  const merges = [run.events, [...run.events].reverse(), shuffled(run.events, 1), shuffled(run.events, 2)];
  for (const [i, events] of merges.entries()) {
    const verdict = judge(STRATEGIES.ordered, events, run.snapshots);
    assert.equal(verdict.anomalies, 0, `merge ${i}: ${JSON.stringify(verdict.byKind)}`);
    assert.equal(verdict.liveSetEqual, true, `merge ${i}: ${verdict.liveMismatches} live mismatches`);
  }
  const live = [...run.snapshots.values()].reduce((n, s) => n + s.allocations.length, 0);
  assert.ok(live > 0, "some buffers stay live, so the comparison is not vacuous");

  // The same reports identified by address and applied in a shuffled order do not add up.
  assert.ok(judge(STRATEGIES.naive, shuffled(run.events, 4), run.snapshots).anomalies > 0);
});

test("naive, the same workload on real threads: the server sees the seed's anomalies", async () => {
  const run = await runThreads({ ...common, strategy: "naive" });
  const verdict = judge(STRATEGIES.naive, run.events, run.snapshots);
  assert.ok(verdict.failures > 0, "the original order fails on real threads");
  assert.ok(verdict.byKind.DUPLICATE_ALLOCATION > 0, JSON.stringify(verdict.byKind));
});

test("tracking off does the same work and reports nothing", async () => {
  const run = await runThreads({ ...common, strategy: "option2", tracking: false });
  assert.equal(run.events.length, 0);
  assert.equal(run.counts.allocations + run.counts.frees, 12000);
  assert.ok(run.elapsedMs > 0);
});
