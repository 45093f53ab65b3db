// SequencerCounters.clientDropped (allocwatch_client_dropped_events_total): an applied snapshot adds the
// sequence numbers it covers that never reached the server; not those it had received and held, not
// those it refused itself (recoveries), not what a session's first snapshot covers, and a snapshot
// replaced by a newer one before its END counts once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { makeSequencer } from "./sequencer-harness.js";

const alloc = (seq: number) =>
  ({ op: 1, deviceId: 0, memoryType: 0, seq, allocationId: seq, address: seq * 64, sizeBytes: 64 }) as const;

function snapshot(h: ReturnType<typeof makeSequencer>, watermark: number, source = 9): void {
  h.sequencer.beginSnapshot(source, watermark, 0);
  h.sequencer.endSnapshot(source, watermark);
}

test("a session's first snapshot is not counted; later ones count the numbers never received", () => {
  const h = makeSequencer();
  snapshot(h, 100); // what came before went to an earlier server
  assert.equal(h.counters.clientDropped, 0);
  h.push(alloc(101));
  h.push(alloc(105)); // 102..104 dropped by the client; 105 held
  snapshot(h, 110); // covers 102..110: 105 was received, 106..110 never came
  assert.equal(h.counters.clientDropped, 3 + 5);
  h.push(alloc(111));
  assert.equal(h.sequencer.expectedSeq, 112);
});

test("nothing is counted before the snapshot is applied, and a replaced snapshot counts once", () => {
  const h = makeSequencer();
  h.push(alloc(1));
  h.sequencer.beginSnapshot(9, 5, 0); // covers 2..5
  assert.equal(h.counters.clientDropped, 0, "not before END");
  h.sequencer.beginSnapshot(9, 8, 0); // a newer one replaces it: covers 2..8 in all
  h.sequencer.endSnapshot(9, 8);
  assert.equal(h.counters.clientDropped, 7);
});

test("events the server refused itself (beyond the reorder window) are recoveries, not client drops", () => {
  const h = makeSequencer({ reorderCapacity: 4 });
  h.push(alloc(1));
  h.push(alloc(3)); // held (2 missing)
  h.push(alloc(100)); // beyond the window: refused by the server, FAR_AHEAD
  assert.equal(h.recoveries.count("FAR_AHEAD"), 1);
  snapshot(h, 100); // covers 2..100: 3 held, 100 refused, 2 and 4..99 never came
  assert.equal(h.counters.clientDropped, 99 - 1 - 1);
});
