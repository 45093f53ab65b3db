import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_WRITER_RESTARTS, WRITER_STABLE_MS, WriterRestarts } from "../../src/client/writer-restarts.js";

test("writer restarts: up to MAX_WRITER_RESTARTS in a row, then give up; a writer that ran WRITER_STABLE_MS starts the count afresh", () => {
  const restarts = new WriterRestarts();
  let now = 1_000;
  const verdicts = [];
  for (let i = 0; i <= MAX_WRITER_RESTARTS; i++) {
    restarts.starting(now);
    now += 100;
    verdicts.push(restarts.failed(now, false));
  }
  assert.deepEqual(
    verdicts.map((v) => [v.failures, v.restart]),
    Array.from({ length: MAX_WRITER_RESTARTS + 1 }, (_, i) => [i + 1, i < MAX_WRITER_RESTARTS]),
  );
  assert.equal(restarts.total, MAX_WRITER_RESTARTS + 1);

  const fresh = new WriterRestarts();
  for (let i = 0; i < MAX_WRITER_RESTARTS; i++) {
    fresh.starting(now);
    assert.equal(fresh.failed(now + 1, false).restart, true);
  }
  // This one ran long enough: not a failure in a row.
  fresh.starting(now);
  now += WRITER_STABLE_MS;
  assert.deepEqual(fresh.failed(now, false), { failures: 1, restart: true });
  assert.equal(fresh.total, MAX_WRITER_RESTARTS + 1);
});

test("writer restarts: a failure while the client is closing never restarts", () => {
  const restarts = new WriterRestarts();
  restarts.starting(0);
  assert.deepEqual(restarts.failed(1, true), { failures: 1, restart: false });
});
