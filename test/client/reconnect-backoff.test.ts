import assert from "node:assert/strict";
import { test } from "node:test";
import { RECONNECT_JITTER, ReconnectBackoff } from "../../src/client/reconnect-backoff.js";

const noJitter = () => 0;

test("backoff: starts at the initial delay and doubles per attempt up to the maximum", () => {
  const backoff = new ReconnectBackoff(50, 2000, noJitter);
  const delays = Array.from({ length: 9 }, () => backoff.nextDelayMs());
  assert.deepEqual(delays, [50, 100, 200, 400, 800, 1600, 2000, 2000, 2000]);
});

test("backoff: the maximum caps a doubling that overshoots it, not only exact powers of two", () => {
  const backoff = new ReconnectBackoff(30, 100, noJitter);
  assert.deepEqual(
    Array.from({ length: 4 }, () => backoff.nextDelayMs()),
    [30, 60, 100, 100],
  );
});

test("backoff: reset() starts again from the initial delay", () => {
  const backoff = new ReconnectBackoff(50, 2000, noJitter);
  for (let i = 0; i < 5; i++) backoff.nextDelayMs();
  backoff.reset();
  assert.equal(backoff.nextDelayMs(), 50);
  assert.equal(backoff.nextDelayMs(), 100);
});

test("backoff: equal initial and maximum delays give a constant delay", () => {
  const backoff = new ReconnectBackoff(700, 700, noJitter);
  assert.deepEqual(
    Array.from({ length: 3 }, () => backoff.nextDelayMs()),
    [700, 700, 700],
  );
});

test("backoff: jitter adds up to 25% on top of the base delay, never less, rounded to whole ms", () => {
  assert.equal(RECONNECT_JITTER, 0.25);
  const almostOne = 1 - Number.EPSILON;
  const high = new ReconnectBackoff(100, 2000, () => almostOne);
  assert.deepEqual(
    Array.from({ length: 3 }, () => high.nextDelayMs()),
    [125, 250, 500],
  );
  const half = new ReconnectBackoff(50, 2000, () => 0.5);
  // 50 * 1.125 = 56.25 → 56; 100 * 1.125 = 112.5 → 113.
  assert.equal(half.nextDelayMs(), 56);
  assert.equal(half.nextDelayMs(), 113);
  // The cap applies to the base delay: jitter may take a capped delay up to 1.25 × the maximum.
  const capped = new ReconnectBackoff(2000, 2000, () => almostOne);
  assert.equal(capped.nextDelayMs(), 2500);
});

test("backoff: with the default random source every delay lies in [base, 1.25 × base]", () => {
  const backoff = new ReconnectBackoff(10, 1000);
  let base = 10;
  for (let i = 0; i < 200; i++) {
    const delay = backoff.nextDelayMs();
    assert.ok(Number.isInteger(delay), `delay ${delay} is not whole ms`);
    assert.ok(
      delay >= base && delay <= Math.round(base * 1.25),
      `delay ${delay} outside [${base}, ${base * 1.25}]`,
    );
    base = Math.min(1000, base * 2);
  }
});
