// The chart keeps bursts (per-second max, never averaged) and the series window carries values
// forward across seconds the stream did not mention.
import assert from "node:assert/strict";
import { test } from "node:test";
import { capacityBar, sparkline } from "../../src/monitor/top/chart.js";
import { SeriesWindow } from "../../src/monitor/top/series-window.js";
import type { SeriesBucket, SeriesResponse } from "../../src/server/api-types.js";

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

function seriesOf(deviceId: number, cb: SeriesBucket[], dram: SeriesBucket[] = []): SeriesResponse {
  return {
    bucketMs: 1000,
    windowMs: 900_000,
    devices: [
      {
        id: deviceId,
        used: { DRAM: dram, L1: [], SYSTEM_MEMORY: [], L1_SMALL: [], TRACE: [], CB: cb, KERNEL: [] },
      },
    ],
    processes: [],
  };
}

test("a one-second burst shows as a full cell even when the chart squeezes seconds together", () => {
  const values = new Array(60).fill(0);
  values[30] = 100;
  const line = sparkline(values, 20, 100);
  assert.equal(line.length, 20);
  assert.equal(line.trim(), "█");
  assert.equal(sparkline([0, 1, 50, 100], 4, 100), " ▁▄█");
  assert.equal(sparkline([5], 3, 0), "   ", "no scale: nothing drawn");
});

test("the series window: per-second max, values carried flat, 60 s bounded", () => {
  const window = new SeriesWindow();
  // CB: a burst to 900 KiB in second 10, back to 0 by its end; DRAM set to 5 in second 0 and unchanged.
  window.merge(
    seriesOf(0, [{ t: T0 + 10_000, min: 0, max: 921_600, last: 0 }], [{ t: T0, min: 0, max: 5, last: 5 }]),
  );
  const now = T0 + 59_500;
  const cb = window.maxPerSecond(0, "CB", now);
  assert.equal(cb.length, 60);
  assert.equal(cb[10], 921_600);
  assert.equal(cb.filter((v) => v > 0).length, 1);
  const dram = window.maxPerSecond(0, "DRAM", now);
  assert.ok(
    dram.every((v) => v === 5),
    "the last value carries into seconds without buckets",
  );
  // Much later, DRAM still carries its last value in; the burst has left the window.
  const later = T0 + 600_000;
  assert.ok(window.maxPerSecond(0, "DRAM", later).every((v) => v === 5));
  assert.ok(window.maxPerSecond(0, "CB", later).every((v) => v === 0));
  assert.deepEqual(window.maxPerSecond(7, "DRAM", now), new Array(60).fill(0), "unknown device: zeros");
  // Bounded: 1000 seconds merged keep at most 62 buckets; the chart still sees the recent ones.
  for (let s = 0; s < 1000; s++) {
    window.merge(seriesOf(0, [{ t: T0 + s * 1000, min: 0, max: s, last: s }]));
  }
  assert.equal(window.maxPerSecond(0, "CB", T0 + 999_000).at(-1), 999);
  window.retain([]);
  assert.ok(window.maxPerSecond(0, "CB", T0 + 999_000).every((v) => v === 0));
});

test("capacity bar: used parts in order, the peak marked beyond them, any use at least one cell", () => {
  assert.equal(capacityBar([{ bytes: 25, char: "█" }], 50, 100, 8), "██░|░░░░");
  assert.equal(
    capacityBar(
      [
        { bytes: 25, char: "█" },
        { bytes: 25, char: "▓" },
      ],
      50,
      100,
      8,
    ),
    "██▓▓░░░░",
  );
  assert.equal(capacityBar([{ bytes: 1, char: "█" }], 1, 1e9, 8), "█░░░░░░░");
  assert.equal(capacityBar([{ bytes: 200, char: "█" }], 200, 100, 4), "████");
  assert.equal(capacityBar([{ bytes: 5, char: "█" }], 5, 0, 4), "    ", "no capacity: no bar");
});
