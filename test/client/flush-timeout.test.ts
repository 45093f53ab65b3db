import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_FLUSH_TIMEOUT_MS, flushTimeoutMs } from "../../src/client/options.js";

test("flush timeout: a positive timeoutMs is used as given, up to the longest timer", () => {
  assert.equal(flushTimeoutMs({ timeoutMs: 1 }), 1);
  assert.equal(flushTimeoutMs({ timeoutMs: 30_000 }), 30_000);
  assert.equal(flushTimeoutMs({ timeoutMs: 0.5 }), 0.5);
  assert.equal(flushTimeoutMs({ timeoutMs: 2 ** 40 }), 2 ** 31 - 1);
});

test("flush timeout: anything but a positive finite number means the default (flush never throws)", () => {
  assert.equal(DEFAULT_FLUSH_TIMEOUT_MS, 5000);
  for (const timeoutMs of [undefined, 0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.equal(flushTimeoutMs({ timeoutMs }), DEFAULT_FLUSH_TIMEOUT_MS, `timeoutMs ${timeoutMs}`);
  }
  assert.equal(flushTimeoutMs({}), DEFAULT_FLUSH_TIMEOUT_MS);
});
