// docs/DESIGN.md invariant 2: whatever order a session's events arrive in, the sequencer applies them in seq
// order, so the final live set is exactly the runtime's, with no anomaly.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { liveAfter, makeSequencer, streamArb } from "./sequencer-harness.js";

test("any permutation of one device's events ends in the exact live set", () => {
  fc.assert(
    fc.property(
      streamArb(1, 300).chain((events) =>
        fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length })),
      ),
      ([events, delivered]) => {
        const h = makeSequencer({ reorderCapacity: 512 });
        for (const e of delivered) h.push(e);
        assert.deepEqual(h.liveSet(), liveAfter(events, 0));
        assert.equal(h.anomalies.total, 0);
        assert.equal(h.sequencer.bufferedEvents, 0);
        assert.equal(h.sequencer.expectedSeq, events.length + 1);
        assert.equal(h.timers.pendingCount, 0, "no gap timer left armed once the holes are filled");
      },
    ),
    { numRuns: 300 },
  );
});

test("a permutation with duplicated deliveries still ends exact, each duplicate counted", () => {
  fc.assert(
    fc.property(
      streamArb(1, 120).chain((events) =>
        fc.tuple(
          fc.constant(events),
          fc.shuffledSubarray(events, { minLength: events.length }),
          fc.array(fc.nat(), { maxLength: 5 }),
        ),
      ),
      ([events, delivered, duplicates]) => {
        fc.pre(events.length > 0);
        const h = makeSequencer({ reorderCapacity: 256 });
        const stream = delivered.slice();
        for (const d of duplicates) stream.push(events[d % events.length]);
        for (const e of stream) h.push(e);
        assert.deepEqual(h.liveSet(), liveAfter(events, 0));
        assert.equal(h.counters.duplicatesDiscarded, duplicates.length);
        assert.equal(h.anomalies.count("DUPLICATE_SEQ"), duplicates.length);
      },
    ),
    { numRuns: 200 },
  );
});

test("a connection lagging thousands of events behind grows the reorder ring instead of overflowing", () => {
  fc.assert(
    fc.property(
      streamArb(1, 3000).chain((events) =>
        fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length })),
      ),
      ([events, delivered]) => {
        const h = makeSequencer({ reorderCapacity: 1 << 14 });
        for (const e of delivered) h.push(e);
        assert.deepEqual(h.liveSet(), liveAfter(events, 0));
        assert.equal(h.anomalies.total, 0);
        assert.equal(h.sequencer.bufferedEvents, 0);
      },
    ),
    { numRuns: 15 },
  );
  // The worst case: the first event arrives last.
  const h = makeSequencer({ reorderCapacity: 1 << 14 });
  const n = 10_000;
  for (let seq = 2; seq <= n; seq++) {
    h.push({ op: 1, deviceId: 0, memoryType: 0, seq, allocationId: seq, address: seq * 64, sizeBytes: 1 });
  }
  assert.equal(h.sequencer.bufferedEvents, n - 1);
  h.push({ op: 1, deviceId: 0, memoryType: 0, seq: 1, allocationId: 1, address: 64, sizeBytes: 1 });
  assert.equal(h.liveSet().length, n);
  assert.equal(h.anomalies.total, 0);
});
