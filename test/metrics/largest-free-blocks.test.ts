// The largest-free-block cache on an injected clock: a scrape (current()) never computes a map; ticks
// recompute one stale map each, only after the registry changed (or the figure aged), paced by what a
// map cost; inexact maps give no figure; CB repeats L1; stop() leaves no timer.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MemoryMapResponse, MemoryMapType } from "../../src/server/api-types.js";
import {
  type FreeBlockSources,
  type FreeBlockTimings,
  LargestFreeBlocks,
} from "../../src/server/metrics/largest-free-blocks.js";
import { ManualTimers, type TimerScheduler } from "../../src/server/timers.js";

const TIMINGS: FreeBlockTimings = { minTickMs: 250, costFactor: 10, maxAgeMs: 10_000, idleAfterMs: 60_000 };

/** The manual clock, plus the time the maps took (a map walk "costs" time on it). */
function costlyClock(clock: ManualTimers): TimerScheduler & { spentMs: number } {
  return {
    spentMs: 0,
    set: (callback, delayMs) => clock.set(callback, delayMs),
    clear: (handle) => clock.clear(handle),
    nowMs() {
      return clock.nowMs() + this.spentMs;
    },
  };
}

/** Two devices; device 7's maps are inexact. Each map answer is 1000 × (device + 1) + a version. */
function fixture(clock: ManualTimers, mapCostMs = 0) {
  const timers = costlyClock(clock);
  const calls: string[] = [];
  let mark = 0;
  let devices = [0, 7];
  const sources: FreeBlockSources = {
    deviceIds: () => devices,
    changeMark: () => String(mark),
    memoryMap(deviceId: number, memoryType: MemoryMapType) {
      calls.push(`${deviceId}:${memoryType}`);
      timers.spentMs += mapCostMs;
      return {
        exact: deviceId !== 7,
        largestFreeBlock: 1000 * (deviceId + 1) + mark,
      } as MemoryMapResponse;
    },
  };
  const blocks = new LargestFreeBlocks(sources, timers, TIMINGS);
  return {
    blocks,
    calls,
    change: () => {
      mark++;
    },
    setDevices: (ids: number[]) => {
      devices = ids;
    },
  };
}

test("reading the figures never computes a map; one stale map per tick, round robin, CB from L1", () => {
  const clock = new ManualTimers();
  const { blocks, calls } = fixture(clock);
  assert.deepEqual(blocks.current(), []);
  blocks.start();
  clock.advance(0);
  assert.deepEqual(calls, ["0:DRAM"], "the first tick computes one map");
  clock.advance(250 * 7);
  assert.deepEqual(calls, [
    "0:DRAM",
    "0:L1",
    "0:L1_SMALL",
    "0:TRACE",
    "7:DRAM",
    "7:L1",
    "7:L1_SMALL",
    "7:TRACE",
  ]);
  for (let i = 0; i < 10; i++) blocks.current();
  assert.equal(calls.length, 8, "current() computed nothing");
  const figures = blocks.current().map((b) => `${b.deviceId}:${b.memoryType}=${b.bytes}`);
  assert.deepEqual(figures, ["0:DRAM=1000", "0:L1=1000", "0:CB=1000", "0:L1_SMALL=1000", "0:TRACE=1000"]);
  blocks.stop();
  assert.equal(clock.pendingCount, 0, "stop() leaves no timer");
});

test("nothing is recomputed while the registry is unchanged, until a figure passes its maximum age", () => {
  const clock = new ManualTimers();
  const { blocks, calls, change } = fixture(clock);
  blocks.current(); // a scrape
  blocks.start();
  clock.advance(250 * 8);
  const computed = calls.length;
  assert.equal(computed, 8);
  clock.advance(5000);
  assert.equal(calls.length, computed, "unchanged: no walk");
  change();
  clock.advance(1000);
  assert.equal(
    calls.length,
    computed + 1,
    "changed: the next map recomputed at the next tick (a second at most)",
  );
  assert.equal(calls.at(-1), "0:DRAM");
  clock.advance(250 * 7);
  assert.equal(calls.length, computed + 8);
  assert.equal(blocks.current()[0]!.bytes, 1001);
  clock.advance(TIMINGS.maxAgeMs);
  assert.ok(calls.length > computed + 8, "figures past their maximum age are recomputed");
  blocks.stop();
});

test("a map costing C ms is followed by at least 10 × C ms of rest", () => {
  const clock = new ManualTimers();
  const { blocks, calls } = fixture(clock, 100);
  blocks.current();
  blocks.start();
  clock.advance(0);
  assert.equal(calls.length, 1);
  clock.advance(999);
  assert.equal(calls.length, 1, "no second walk within 10 × 100 ms");
  clock.advance(1);
  assert.equal(calls.length, 2);
  blocks.stop();
});

test("a device that goes away loses its figures", () => {
  const clock = new ManualTimers();
  const { blocks, setDevices } = fixture(clock);
  blocks.current();
  blocks.start();
  clock.advance(250 * 8);
  assert.ok(blocks.current().some((b) => b.deviceId === 0));
  setDevices([7]);
  clock.advance(1000);
  assert.deepEqual(blocks.current(), []);
  blocks.stop();
});

test("while nobody scrapes, nothing is walked; the next scrape starts the refresh again", () => {
  const clock = new ManualTimers();
  const { blocks, calls, change } = fixture(clock);
  blocks.start();
  clock.advance(10_000);
  assert.deepEqual(calls, [], "never read: never walked");
  blocks.current();
  clock.advance(1000);
  assert.equal(calls.length, 1, "a scrape starts the refresh");
  clock.advance(TIMINGS.idleAfterMs);
  const walked = calls.length;
  change();
  clock.advance(5000);
  assert.equal(calls.length, walked, "a minute without a scrape: no walk, even with changes");
  blocks.stop();
});
