// "Gaps are waited for, then healed": a missing seq holds later events; after the gap timeout the
// sequencer counts one GAP_TIMEOUT recovery (not an anomaly: the view stays exact), asks for a resync,
// retries while stalled, and a snapshot heals it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { makeSequencer } from "./sequencer-harness.js";

const alloc = (seq: number, id: number) =>
  ({ op: 1, deviceId: 0, memoryType: 0, seq, allocationId: id, address: id * 4096, sizeBytes: 100 }) as const;

test("a gap filled before the timeout costs nothing", () => {
  const h = makeSequencer({ gapTimeoutMs: 100 });
  h.push(alloc(1, 1));
  h.push(alloc(3, 3));
  assert.equal(h.sequencer.bufferedEvents, 1);
  h.timers.advance(99);
  h.push(alloc(2, 2));
  h.timers.advance(1000);
  assert.equal(h.resyncs.length, 0);
  assert.equal(h.anomalies.total, 0);
  assert.equal(h.liveSet().length, 3);
});

test("a gap not filled within the timeout asks for a resync, once counted, retried while stalled", () => {
  const h = makeSequencer({ gapTimeoutMs: 100 });
  h.push(alloc(1, 1));
  h.push(alloc(3, 3));
  h.push(alloc(4, 4));
  h.timers.advance(99);
  assert.equal(h.resyncs.length, 0);
  h.timers.advance(1);
  assert.equal(h.resyncs.length, 1);
  assert.equal(h.resyncs[0].deviceId, 0);
  assert.equal(h.recoveries.count("GAP_TIMEOUT"), 1);
  assert.equal(h.anomalies.total, 0, "a transport recovery, not a data error");
  assert.equal(h.counters.gaps, 1);
  // Nothing past the hole is applied: the registry is exact as of seq 1.
  assert.deepEqual(
    h.liveSet().map((a) => a.allocationId),
    [1],
  );
  h.timers.advance(100);
  assert.equal(h.resyncs.length, 2, "the request is retried");
  assert.equal(h.recoveries.count("GAP_TIMEOUT"), 1, "the same gap is counted once");
  assert.equal(h.recoveries.count("RESYNC_REQUESTED"), 2, "each request is counted");

  // The client answers with a snapshot at watermark 4 (seq 2 allocated id 2, then 3 and 4).
  h.sequencer.beginSnapshot(7, 4, 4);
  h.sequencer.snapshotChunk(
    7,
    [1, 2, 3, 4].map((id) => ({ allocationId: id, memoryType: 0, address: id * 4096, sizeBytes: 100 })),
  );
  h.sequencer.endSnapshot(7, 4);
  assert.equal(h.sequencer.expectedSeq, 5);
  assert.equal(h.sequencer.bufferedEvents, 0);
  assert.deepEqual(
    h.liveSet().map((a) => a.allocationId),
    [1, 2, 3, 4],
  );
  h.timers.advance(1000);
  assert.equal(h.resyncs.length, 2, "no more requests once healed");
  assert.equal(h.timers.pendingCount, 0);
});

test("an event further ahead than the reorder window: counted, dropped, resync asked at once", () => {
  const h = makeSequencer({ reorderCapacity: 8, gapTimeoutMs: 100 });
  h.push(alloc(1, 1));
  h.push(alloc(20, 20));
  assert.equal(h.recoveries.count("FAR_AHEAD"), 1);
  assert.equal(h.anomalies.total, 0, "a transport recovery, not a data error");
  assert.equal(h.resyncs.length, 1);
  assert.equal(h.counters.overflowDropped, 1);
  // The late hole-filler cannot heal it: seq 20 is lost, so the sequencer stays stalled until a snapshot.
  for (let seq = 2; seq <= 19; seq++) h.push(alloc(seq, seq));
  assert.equal(h.sequencer.expectedSeq, 20);
  h.sequencer.beginSnapshot(1, 20, 20);
  h.sequencer.snapshotChunk(
    1,
    Array.from({ length: 20 }, (_, i) => ({
      allocationId: i + 1,
      memoryType: 0 as const,
      address: (i + 1) * 4096,
      sizeBytes: 100,
    })),
  );
  h.sequencer.endSnapshot(1, 20);
  assert.equal(h.liveSet().length, 20);
  assert.equal(h.sequencer.expectedSeq, 21);
  h.timers.advance(1000);
  assert.equal(h.timers.pendingCount, 0);
});
