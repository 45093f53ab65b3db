// "Snapshots are watermarked": a snapshot replaces the (session, device) state, then only events with
// seq > watermark apply; older ones still in flight are discarded as stale (not duplicates).
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { liveAfter, makeSequencer, streamArb } from "./sequencer-harness.js";

const alloc = (seq: number, id: number) =>
  ({ op: 1, deviceId: 0, memoryType: 1, seq, allocationId: id, address: id * 64, sizeBytes: 10 }) as const;
const free = (seq: number, id: number) =>
  ({ op: 2, deviceId: 0, memoryType: 1, seq, allocationId: id, address: id * 64, sizeBytes: 10 }) as const;
const live = (id: number) => ({ allocationId: id, memoryType: 1 as const, address: id * 64, sizeBytes: 10 });

test("events <= watermark in flight on other connections are discarded; newer ones wait for END", () => {
  const h = makeSequencer();
  h.push(alloc(1, 1));
  h.push(alloc(2, 2));
  // Snapshot at watermark 5: ids 1, 3, 4 live (2 freed at seq 5).
  h.sequencer.beginSnapshot(9, 5, 3);
  h.push(alloc(3, 3)); // stale: in the snapshot
  h.push(alloc(7, 7)); // newer than the watermark, but seq 6 missing: waits
  h.push(free(6, 1)); // newer: waits for END
  h.sequencer.snapshotChunk(9, [live(1), live(3)]);
  h.push(free(5, 2)); // stale
  h.sequencer.snapshotChunk(9, [live(4)]);
  assert.deepEqual(
    h.liveSet().map((a) => a.allocationId),
    [1, 2],
    "nothing changes before END",
  );
  h.sequencer.endSnapshot(9, 5);
  assert.deepEqual(
    h.liveSet().map((a) => a.allocationId),
    [3, 4, 7],
  );
  assert.equal(h.sequencer.expectedSeq, 8);
  h.push(alloc(4, 4)); // still in flight, older than the watermark
  assert.equal(h.counters.staleDiscarded, 3);
  assert.equal(h.counters.duplicatesDiscarded, 0);
  assert.equal(h.anomalies.total, 0);
});

test("a snapshot older than the applied state is ignored (with its chunks and END)", () => {
  const h = makeSequencer();
  for (let seq = 1; seq <= 6; seq++) h.push(alloc(seq, seq));
  h.sequencer.beginSnapshot(3, 2, 2);
  h.sequencer.snapshotChunk(3, [live(1), live(2)]);
  h.sequencer.endSnapshot(3, 2);
  assert.equal(h.counters.snapshotsIgnored, 1);
  assert.equal(h.liveSet().length, 6);
  assert.equal(h.anomalies.total, 0);
});

test("a snapshot cut off by its connection closing is a recovery, not an anomaly, and asks for a new one", () => {
  const h = makeSequencer();
  h.push(alloc(1, 1));
  h.sequencer.beginSnapshot(4, 3, 3);
  h.push(alloc(2, 2)); // stale for the cut snapshot: discarded, so now lost
  h.sequencer.snapshotChunk(4, [live(1)]);
  h.sequencer.sourceClosed(4);
  // The client sent nothing wrong: no anomaly, one recovery, one resync request.
  assert.equal(h.anomalies.total, 0);
  assert.equal(h.recoveries.count("SNAPSHOT_INTERRUPTED"), 1);
  assert.equal(h.counters.snapshotsAborted, 1);
  assert.equal(h.resyncs.length, 1);
  assert.deepEqual(
    h.liveSet().map((a) => a.allocationId),
    [1],
  );
  // The next snapshot (from another connection) heals it.
  h.sequencer.beginSnapshot(5, 3, 3);
  h.sequencer.snapshotChunk(5, [live(1), live(2), live(3)]);
  h.sequencer.endSnapshot(5, 3);
  h.push(alloc(4, 4));
  assert.deepEqual(
    h.liveSet().map((a) => a.allocationId),
    [1, 2, 3, 4],
  );
});

test("property: a snapshot at any watermark plus any delivery order of all events ends exact", () => {
  fc.assert(
    fc.property(
      streamArb(1, 150).chain((events) =>
        fc.tuple(
          fc.constant(events),
          fc.nat(events.length),
          fc.shuffledSubarray(events, { minLength: events.length }),
          fc.nat(events.length),
        ),
      ),
      ([events, watermark, delivered, beginAt]) => {
        const h = makeSequencer({ reorderCapacity: 256 });
        const snapshot = liveAfter(events, 0, watermark);
        // Deliver every event (each exactly once), with the snapshot's BEGIN..END somewhere inside.
        delivered.forEach((e, i) => {
          if (i === beginAt) h.sequencer.beginSnapshot(1, watermark, snapshot.length);
          h.push(e);
        });
        if (beginAt >= delivered.length) h.sequencer.beginSnapshot(1, watermark, snapshot.length);
        h.sequencer.snapshotChunk(1, snapshot);
        h.sequencer.endSnapshot(1, watermark);
        assert.deepEqual(h.liveSet(), liveAfter(events, 0));
        assert.equal(h.anomalies.count("DUPLICATE_SEQ"), 0);
        assert.equal(h.sequencer.bufferedEvents, 0);
      },
    ),
    { numRuns: 300 },
  );
});
