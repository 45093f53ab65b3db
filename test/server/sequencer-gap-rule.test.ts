// The gap rule inside one sequencer, on the injected clock (docs/PROTOCOL.md 3.3): a missing number is
// waited for while a live connection that has not passed it keeps delivering; declared lost (GAP_TIMEOUT,
// a resync) once every live connection has passed it, or those behind stayed quiet through the timeout
// and a confirmation; a confirmation that fires late is repeated. None of it is an anomaly.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualTimers } from "../../src/server/timers.js";
import { makeSequencer } from "./sequencer-harness.js";

const alloc = (seq: number) =>
  ({
    op: 1,
    deviceId: 0,
    memoryType: 0,
    seq,
    allocationId: seq,
    address: seq * 4096,
    sizeBytes: 100,
  }) as const;
const GAP = 100;
const CONFIRM = 10;

/** Two connections open; connection 1 delivered seq 1 and 3: seq 2 is missing. */
function holeAtTwo(): ReturnType<typeof makeSequencer> {
  const h = makeSequencer({ gapTimeoutMs: GAP });
  h.links.open(1);
  h.links.open(2);
  h.push(alloc(1), 1);
  h.push(alloc(3), 1);
  return h;
}

test("a connection behind its sibling and still delivering is waited for; its late number is exact", () => {
  const h = holeAtTwo();
  h.push(alloc(4), 1);
  for (let t = 0; t < 5; t++) {
    h.timers.advance(GAP / 2);
    h.links.delivered(2); // frames of other devices
  }
  assert.equal(h.resyncs.length, 0);
  h.push(alloc(2), 2);
  assert.equal(h.liveSet().length, 4);
  assert.equal(h.recoveries.count("GAP_FILLED_LATE"), 1);
  assert.equal(h.recoveries.total, 1);
  assert.equal(h.anomalies.total, 0);
  h.timers.advance(10 * GAP);
  assert.equal(h.timers.pendingCount, 0);
});

test("a hole filled before the timeout is not a late fill", () => {
  const h = holeAtTwo();
  h.timers.advance(GAP - 1);
  h.push(alloc(2), 2);
  assert.equal(h.recoveries.total, 0);
});

test("every live connection past the number: lost at the timeout, without confirmation", () => {
  const h = holeAtTwo();
  h.push(alloc(4), 2);
  h.timers.advance(GAP);
  assert.equal(h.resyncs.length, 1);
  assert.match(h.resyncs[0].reason, /sequence gap at seq 2/);
  assert.equal(h.recoveries.count("GAP_TIMEOUT"), 1);
  assert.equal(h.recoveries.count("RESYNC_REQUESTED"), 1);
  assert.equal(h.anomalies.total, 0);
});

test("a connection that closes no longer holds the number up", () => {
  const h = holeAtTwo();
  h.timers.advance(GAP / 2);
  h.links.delivered(2);
  h.timers.advance(GAP / 2);
  assert.equal(h.resyncs.length, 0, "2 is behind and delivering");
  h.links.close(2);
  h.sequencer.sourceClosed(2);
  h.timers.advance(GAP);
  assert.equal(h.resyncs.length, 1, "only 1 is left, and it has passed the number");
});

test("the only connection behind is quiet: lost after the timeout and a confirmation", () => {
  const h = holeAtTwo();
  h.timers.advance(GAP);
  assert.equal(h.resyncs.length, 0);
  h.timers.advance(CONFIRM);
  assert.equal(h.resyncs.length, 1);
  assert.equal(h.recoveries.count("GAP_TIMEOUT"), 1);
});

test("a confirmation that fires late (the server stalled again) is repeated, and then holds", () => {
  const timers = new StallableTimers();
  const h = makeSequencer({ gapTimeoutMs: GAP, timers });
  h.links.open(1);
  h.links.open(2);
  h.push(alloc(1), 1);
  h.push(alloc(3), 1);
  h.timers.advance(GAP);
  assert.equal(h.resyncs.length, 0, "2 looks quiet: a confirmation is due in 10 ms");
  // The server stops before the confirmation and wakes 50 ms after it was due.
  timers.stall(CONFIRM + 50);
  assert.equal(h.resyncs.length, 0, "a late confirmation proves nothing: it is repeated");
  h.links.delivered(2); // the bytes the stall left unread
  h.timers.advance(CONFIRM);
  assert.equal(h.resyncs.length, 0, "2 delivered: it is waited for");
  h.push(alloc(2), 2);
  assert.equal(h.liveSet().length, 3);
  assert.equal(h.anomalies.total, 0);
});

test("the same stall, with connection 2 truly gone quiet: lost at the repeated confirmation", () => {
  const timers = new StallableTimers();
  const h = makeSequencer({ gapTimeoutMs: GAP, timers });
  h.links.open(1);
  h.links.open(2);
  h.push(alloc(1), 1);
  h.push(alloc(3), 1);
  h.timers.advance(GAP);
  timers.stall(CONFIRM + 50);
  assert.equal(h.resyncs.length, 0);
  h.timers.advance(CONFIRM);
  assert.equal(h.resyncs.length, 1);
});

/**
 * A clock whose process can be stopped: `stall(ms)` moves time on while nothing runs, then fires what
 * came due meanwhile, late (each callback sees the time of waking, and schedules from it).
 */
class StallableTimers extends ManualTimers {
  private wokeAt: number | undefined;

  override nowMs(): number {
    return this.wokeAt ?? super.nowMs();
  }

  override set(callback: () => void, delayMs: number): unknown {
    return super.set(callback, delayMs + (this.wokeAt === undefined ? 0 : this.wokeAt - super.nowMs()));
  }

  stall(ms: number): void {
    this.wokeAt = super.nowMs() + ms;
    this.advance(ms);
    this.wokeAt = undefined;
  }
}
