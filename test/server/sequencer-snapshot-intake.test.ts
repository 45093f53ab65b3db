// Snapshot intake is bounded server-wide (SnapshotIntakeBudget): a snapshot in progress holds entries of
// the shared budget until it is applied, cut off, replaced or its sequencer disposed, and gives every one
// back; a snapshot the budget cannot hold whole is swapped in short, counted as refused, and leaves the
// device marked over its limit, so the FREE of an entry it could not keep is no anomaly.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { LiveAllocation } from "../../src/protocol/event.js";
import { makeSequencer } from "./sequencer-harness.js";

const entries = (from: number, to: number): LiveAllocation[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    allocationId: from + i,
    memoryType: 0,
    address: (from + i) * 4096,
    sizeBytes: 4096,
  }));

test("entries are held while a snapshot is in progress and given back however it ends", () => {
  const h = makeSequencer({ intakeEntries: 10_000 });
  h.sequencer.beginSnapshot(1, 0, 300);
  h.sequencer.snapshotChunk(1, entries(1, 300));
  assert.ok(h.intakeBudget.heldEntries >= 300);
  h.sequencer.sourceClosed(1); // cut off
  assert.equal(h.intakeBudget.heldEntries, 0, "an aborted snapshot gives its entries back");

  h.sequencer.beginSnapshot(2, 0, 300);
  h.sequencer.snapshotChunk(2, entries(1, 300));
  h.sequencer.beginSnapshot(3, 1, 5); // a newer one from another connection replaces it
  assert.ok(h.intakeBudget.heldEntries < 300, "the replaced snapshot gave its entries back");
  h.sequencer.snapshotChunk(3, entries(1, 5));
  h.sequencer.endSnapshot(3, 1);
  assert.equal(h.intakeBudget.heldEntries, 0, "an applied snapshot gives its entries back");
  assert.equal(h.liveSet().length, 5);

  h.sequencer.beginSnapshot(3, 2, 50);
  h.sequencer.snapshotChunk(3, entries(1, 50));
  h.sequencer.dispose();
  assert.equal(h.intakeBudget.heldEntries, 0, "a disposed sequencer gives its entries back");
});

test("a snapshot past the intake budget is swapped in short and the device marked; its FREEs are excused", () => {
  const h = makeSequencer({ intakeEntries: 256 });
  h.sequencer.beginSnapshot(1, 0, 400);
  h.sequencer.snapshotChunk(1, entries(1, 400));
  h.sequencer.endSnapshot(1, 0);
  assert.equal(h.liveSet().length, 256);
  assert.equal(h.ledger.overLimit, true);
  assert.equal(h.registry.limit.refused, 144);
  assert.equal(h.intakeBudget.heldEntries, 0);
  h.push({
    op: 2,
    deviceId: 0,
    memoryType: 0,
    seq: 1,
    allocationId: 400,
    address: 400 * 4096,
    sizeBytes: 4096,
  });
  assert.equal(h.anomalies.total, 0, "the FREE of an entry not kept is excused");
  assert.equal(h.registry.limit.excusedFrees, 1);
});
