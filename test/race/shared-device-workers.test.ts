// Four worker threads share one device; a share of the buffers is freed on another thread than the one
// that allocated it. Whatever order the reports are merged in, the ordered replay has no anomaly and its
// live set is the allocator's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { compareLiveSets } from "../../src/race/live-set-comparison.js";
import { SeededRandom } from "../../src/race/random.js";
import type { ReplayEvent } from "../../src/race/replay.js";
import { replayEvents } from "../../src/race/replay.js";
import { runReportingWorkload } from "../../src/race/run.js";

function shuffled(events: readonly ReplayEvent[], seed: number): ReplayEvent[] {
  const out = [...events];
  const rng = new SeededRandom(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test("4 threads on a shared device: zero anomalies in any merge order, live set equals the allocator's", async () => {
  const run = await runReportingWorkload("ordered", { threads: 4, operations: 12000, seed: 11 });
  assert.equal(run.events.length, 12000, "one report per allocator change");
  assert.ok(run.counts.foreignFrees > 100, `frees on other threads: ${run.counts.foreignFrees}`);
  assert.equal(run.snapshot.seq, 12000, "every change took a number on the shared counter");

  const merges = [
    run.events, // arrival order
    [...run.events].reverse(),
    shuffled(run.events, 1),
    shuffled(run.events, 2),
    shuffled(run.events, 3),
  ];
  for (const [i, events] of merges.entries()) {
    const replay = replayEvents(events, { mode: "ordered" });
    assert.equal(replay.anomalies, 0, `merge ${i}: ${JSON.stringify(replay.byKind)}`);
    const live = replay.live.get("0:0") ?? [];
    const comparison = compareLiveSets("ordered", live, run.snapshot.allocations);
    assert.equal(
      comparison.equal,
      true,
      `merge ${i}: missing ${comparison.missing.length}, extra ${comparison.extra.length}`,
    );
    assert.ok(live.length > 0, "some buffers stay live, so the comparison is not vacuous");
  }

  // The same reports identified by address and applied in a shuffled order do not add up (the checker
  // is not blind).
  const naive = replayEvents(shuffled(run.events, 4), { mode: "naive" });
  assert.ok(naive.anomalies > 0);
});
