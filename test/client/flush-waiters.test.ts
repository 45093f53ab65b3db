import assert from "node:assert/strict";
import { test } from "node:test";
import { FlushWaiters } from "../../src/client/flush-waiters.js";

const LONG_MS = 60_000;

/** Lets promise reactions run, so that `done` reflects whether the flush resolved. */
const settleMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

function watch(promise: Promise<void>): { done: boolean } {
  const state = { done: false };
  promise.then(() => {
    state.done = true;
  });
  return state;
}

test("flush waiters: a waiter resolves once every frame enqueued before it has settled, not earlier", async () => {
  const waiters = new FlushWaiters(() => {});
  waiters.frameEnqueued();
  waiters.frameEnqueued();
  assert.equal(waiters.drained, false);
  const flush = watch(waiters.add(new Set(), LONG_MS));
  // A frame enqueued after the flush is not waited for.
  waiters.frameEnqueued();
  waiters.frameSettled();
  waiters.settle();
  await settleMicrotasks();
  assert.equal(flush.done, false);
  assert.equal(waiters.count, 1);
  waiters.frameSettled();
  waiters.settle();
  await settleMicrotasks();
  assert.equal(flush.done, true);
  assert.equal(waiters.count, 0);
  assert.equal(waiters.drained, false, "the third frame is still unsettled");
  waiters.frameSettled();
  assert.equal(waiters.drained, true);
});

test("flush waiters: settled frames alone do not release a waiter until settle() runs", async () => {
  const waiters = new FlushWaiters(() => {});
  waiters.frameEnqueued();
  const flush = watch(waiters.add(new Set(), LONG_MS));
  waiters.frameSettled();
  await settleMicrotasks();
  assert.equal(flush.done, false);
  waiters.settle();
  await settleMicrotasks();
  assert.equal(flush.done, true);
});

test("flush waiters: a waiter for a device waits for its snapshot frames to be enqueued and settled", async () => {
  const waiters = new FlushWaiters(() => {});
  const flush = watch(waiters.add(new Set([4, 7]), LONG_MS));
  waiters.settle();
  await settleMicrotasks();
  assert.equal(flush.done, false, "devices 4 and 7 have no snapshot yet");
  // Device 4's snapshot: three frames.
  for (let i = 0; i < 3; i++) waiters.frameEnqueued();
  waiters.snapshotEnqueued(4);
  // Device 7's snapshot fails: the waiter gives up on it.
  waiters.snapshotFailed(7);
  waiters.frameSettled();
  waiters.frameSettled();
  waiters.settle();
  await settleMicrotasks();
  assert.equal(flush.done, false, "the last frame of device 4's snapshot is unsettled");
  waiters.frameSettled();
  waiters.settle();
  await settleMicrotasks();
  assert.equal(flush.done, true);
});

test("flush waiters: a snapshot of a device a waiter does not wait for leaves its target alone", async () => {
  const waiters = new FlushWaiters(() => {});
  const flush = watch(waiters.add(new Set([1]), LONG_MS));
  waiters.frameEnqueued();
  waiters.snapshotEnqueued(2);
  waiters.frameEnqueued();
  waiters.snapshotEnqueued(1);
  waiters.frameSettled();
  waiters.settle();
  await settleMicrotasks();
  assert.equal(flush.done, false, "device 1's snapshot is the second frame");
  waiters.frameSettled();
  waiters.settle();
  await settleMicrotasks();
  assert.equal(flush.done, true);
});

test("flush waiters: a lost connection settles everything and releases every waiter", async () => {
  let allReleased = 0;
  const waiters = new FlushWaiters(() => allReleased++);
  waiters.frameEnqueued();
  const first = watch(waiters.add(new Set(), LONG_MS));
  const second = watch(waiters.add(new Set([3]), LONG_MS));
  waiters.connectionLost();
  await settleMicrotasks();
  assert.deepEqual([first.done, second.done], [true, true]);
  assert.equal(waiters.count, 0);
  assert.equal(waiters.drained, true);
  assert.equal(allReleased, 1, "onAllReleased runs once, when the last waiter goes");
});

test("flush waiters: the timeout releases a waiter that nothing else would", async () => {
  let allReleased = 0;
  const waiters = new FlushWaiters(() => allReleased++);
  waiters.frameEnqueued();
  const started = Date.now();
  await waiters.add(new Set([9]), 30);
  assert.ok(Date.now() - started >= 25, "released before its timeout");
  assert.equal(waiters.count, 0);
  assert.equal(allReleased, 1);
});

test("flush waiters: onAllReleased waits for the last of several waiters", async () => {
  let allReleased = 0;
  const waiters = new FlushWaiters(() => allReleased++);
  waiters.frameEnqueued();
  const early = watch(waiters.add(new Set(), LONG_MS));
  waiters.frameEnqueued();
  const late = watch(waiters.add(new Set(), LONG_MS));
  waiters.frameSettled();
  waiters.settle();
  await settleMicrotasks();
  assert.deepEqual([early.done, late.done, allReleased], [true, false, 0]);
  waiters.frameSettled();
  waiters.settle();
  await settleMicrotasks();
  assert.deepEqual([late.done, allReleased], [true, 1]);
});
