// ShardPool.start's options: defaults filled in, every out-of-bounds value refused with ShardOptionError
// (and nothing started), and the respawn delay each failure count gets.
import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { ShardErrorCode, ShardOptionError } from "../../../src/server/shards/errors.js";
import {
  DEFAULT_MAX_RESPAWN_DELAY_MS,
  DEFAULT_MAX_RESTARTS,
  DEFAULT_READY_TIMEOUT_MS,
  DEFAULT_RESPAWN_DELAY_MS,
  DEFAULT_STABLE_AFTER_MS,
  DEFAULT_STOP_TIMEOUT_MS,
  MAX_TIMER_MS,
  respawnDelayFor,
  type ShardPoolOptions,
  settleShardPoolOptions,
} from "../../../src/server/shards/shard-pool-options.js";
import { TEST_SHARD_URL } from "./transport-harness.js";

const base: ShardPoolOptions = {
  shards: 2,
  workerUrl: TEST_SHARD_URL,
  workerData: {},
  callTimeoutMs: 1000,
  log: pino({ level: "silent" }),
};

test("the defaults are the documented ones", () => {
  const settings = settleShardPoolOptions(base);
  assert.equal(settings.respawnDelayMs, DEFAULT_RESPAWN_DELAY_MS);
  assert.equal(settings.maxRespawnDelayMs, DEFAULT_MAX_RESPAWN_DELAY_MS);
  assert.equal(settings.maxRestarts, DEFAULT_MAX_RESTARTS);
  assert.equal(settings.stableAfterMs, DEFAULT_STABLE_AFTER_MS);
  assert.equal(settings.readyTimeoutMs, DEFAULT_READY_TIMEOUT_MS);
  assert.equal(settings.stopTimeoutMs, DEFAULT_STOP_TIMEOUT_MS);
  // docs/ARCHITECTURE.md "Ingest on more than one core" and docs/SECURITY.md "Every limit" state these.
  assert.deepEqual(
    [DEFAULT_RESPAWN_DELAY_MS, DEFAULT_MAX_RESPAWN_DELAY_MS, DEFAULT_MAX_RESTARTS, DEFAULT_STABLE_AFTER_MS],
    [1000, 30_000, 5, 60_000],
  );
  const chosen = settleShardPoolOptions({ ...base, respawnDelayMs: 7, maxRespawnDelayMs: MAX_TIMER_MS });
  assert.equal(chosen.respawnDelayMs, 7);
  assert.equal(chosen.maxRespawnDelayMs, MAX_TIMER_MS);
});

test("a bad millisecond option is refused with ShardOptionError naming it", () => {
  const timers = ["respawnDelayMs", "maxRespawnDelayMs", "readyTimeoutMs", "stopTimeoutMs"] as const;
  for (const name of [...timers, "callTimeoutMs", "stableAfterMs"] as const) {
    for (const value of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, "5" as unknown as number]) {
      assert.throws(
        () => settleShardPoolOptions({ ...base, [name]: value }),
        (error: unknown) =>
          error instanceof ShardOptionError &&
          error.code === ShardErrorCode.INVALID_OPTION &&
          error.message.startsWith(`${name} must be a positive number of milliseconds`),
        `${name} = ${String(value)}`,
      );
    }
  }
  // A timer longer than Node keeps would fire after 1 ms: a respawn at once instead of much later.
  for (const name of timers) {
    assert.throws(
      () => settleShardPoolOptions({ ...base, [name]: MAX_TIMER_MS + 1 }),
      new RegExp(`${name} must be a positive number of milliseconds up to ${MAX_TIMER_MS}, not 2147483648`),
    );
    assert.equal(settleShardPoolOptions({ ...base, [name]: MAX_TIMER_MS })[name], MAX_TIMER_MS);
  }
});

test("respawn delays: doubled per failure, capped, a longer first delay kept", () => {
  const delays = (respawnDelayMs: number, maxRespawnDelayMs: number, failures: number[]) =>
    failures.map((n) => respawnDelayFor(n, { respawnDelayMs, maxRespawnDelayMs }));
  assert.deepEqual(
    delays(1000, 30_000, [1, 2, 3, 4, 5, 6, 7]),
    [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000],
  );
  assert.deepEqual(delays(50, 100, [1, 2, 3, 10]), [50, 100, 100, 100]);
  assert.deepEqual(delays(120, 60, [1, 2, 5]), [120, 120, 120]);
  // A large maxRestarts: 2 ** n overflows to Infinity, and the cap still holds.
  assert.deepEqual(delays(1000, 30_000, [1024, 5000]), [30_000, 30_000]);
  assert.equal(respawnDelayFor(2000, { respawnDelayMs: 1, maxRespawnDelayMs: MAX_TIMER_MS }), MAX_TIMER_MS);
});
