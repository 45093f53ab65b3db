// The text chart of `allocwatch history`: levels scaled to the series' peak, blanks where nothing was
// recorded, bold only when colour is on.
import assert from "node:assert/strict";
import { test } from "node:test";
import { renderHistory, sparkline } from "../../src/monitor/history/render.js";
import type { HistoryResponse } from "../../src/server/api-types.js";

test("sparkline: one column per slice, its highest max, blank without samples", () => {
  const points = [
    { t: 0, min: 0, max: 0, last: 0 },
    { t: 1000, min: 0, max: 50, last: 50 },
    { t: 3000, min: 100, max: 100, last: 100 },
  ];
  assert.equal(sparkline(points, 0, 3999, 4, 100), "▁▅ █");
  // Any bytes in use show above the idle level, however small against the peak.
  assert.equal(sparkline([{ t: 0, min: 1, max: 1, last: 1 }], 0, 999, 1, 1e9), "▂");
  assert.equal(sparkline([], 0, 999, 3, 0), "   ");
});

test("render: a line per series with latest and peak; escape codes only with colour", () => {
  const history: HistoryResponse = {
    fromMs: 0,
    toMs: 59_999,
    stepMs: 1000,
    retentionMs: 7 * 86_400_000,
    maxPoints: 10_000,
    truncated: true,
    series: [
      {
        deviceId: 1,
        memoryType: "DRAM",
        pid: null,
        sessionId: null,
        processName: null,
        points: [
          { t: 0, min: 0, max: 2048, last: 1024 },
          { t: 30_000, min: 1024, max: 1024, last: 1024 },
        ],
      },
    ],
    lifetimes: [],
    anomalies: [],
  };
  const plain = renderHistory(history, { serverUrl: "http://x", color: false, width: 10 });
  assert.match(plain, /device 1 DRAM\s+█ {4}▅ {4}\s+now\s+1\.0 KiB\s+peak\s+2\.0 KiB/);
  assert.match(plain, /cut at 10000 points/);
  const ESC = "\x1b";
  assert.ok(!plain.includes(ESC));
  assert.ok(
    renderHistory(history, { serverUrl: "http://x", color: true }).startsWith(
      `${ESC}[1mallocwatch history${ESC}[0m`,
    ),
  );
});
