// The query of GET /api/v1/history: every parameter checked, with a message that says what is allowed;
// defaults that fit the range.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEFAULT_HISTORY_RANGE_MS,
  HistoryRequestError,
  MAX_STEPS_PER_SERIES,
  parseHistoryRequest,
} from "../../src/server/history/history-request.js";

const NOW = 1_800_000_000_000;
const parse = (query: string) => parseHistoryRequest(new URLSearchParams(query), NOW);

test("defaults: the last hour up to now, about 600 steps, devices' totals of every type", () => {
  assert.deepEqual(parse(""), { fromMs: NOW - DEFAULT_HISTORY_RANGE_MS, toMs: NOW, stepMs: 10_000 });
  assert.deepEqual(parse("device=3&type=L1&pid=42&from=0&to=600000&step=2000"), {
    deviceId: 3,
    memoryType: 1,
    pid: 42,
    fromMs: 0,
    toMs: 600_000,
    stepMs: 2000,
  });
  // Ten minutes ago to now: 1-s steps; a day back: whole minutes (only 1-min samples remain there).
  assert.equal(parse(`from=${NOW - 300_000}`).stepMs, 1000);
  const day = parse(`from=${NOW - 86_400_000}`).stepMs;
  assert.ok(day >= 60_000 && day % 60_000 === 0, String(day));
  // Two hours that ended a week ago: whole minutes too.
  const old = parse(`from=${NOW - 7 * 86_400_000}&to=${NOW - 7 * 86_400_000 + 120_000}`).stepMs;
  assert.equal(old, 60_000);
});

test("every malformed parameter is refused with what is allowed", () => {
  const cases: [string, RegExp][] = [
    ["device=-1", /device must be a device id, a whole number in 0\.\.65534, got "-1"/],
    ["device=65535", /device must be a device id/],
    ["device=abc", /device must be a device id/],
    ["type=HBM", /type must be one of DRAM, L1, SYSTEM_MEMORY, L1_SMALL, TRACE, CB, KERNEL, got "HBM"/],
    ["pid=0", /pid must be a process id, a whole number in 1\.\.2147483647/],
    ["from=yesterday", /from must be ms since the epoch/],
    ["to=1.5", /to must be ms since the epoch/],
    ["from=2000&to=1000", /from \(2000\) must not be after to \(1000\)/],
    ["step=500", /step must be milliseconds, a whole number in 1000\.\./],
    ["step=1500", /step must be whole seconds below a minute .* or whole minutes/],
    ["step=90000", /step must be whole seconds below a minute .* or whole minutes/],
    [
      `from=0&to=${NOW}&step=1000`,
      new RegExp(`more than ${MAX_STEPS_PER_SERIES}: raise step or narrow the range`),
    ],
    ["since=1", /unknown query parameter "since" \(allowed: device, type, pid, from, to, step\)/],
  ];
  for (const [query, message] of cases) {
    assert.throws(
      () => parse(query),
      (e: unknown) => e instanceof HistoryRequestError && message.test(e.message),
      query,
    );
  }
});
