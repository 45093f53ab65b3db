// `allocwatch leaks`' table: one row per report with the bytes that leaked; a report of a process that
// went over the server's live-allocation limits says "at least" (the refused allocations are not known).
import assert from "node:assert/strict";
import { test } from "node:test";
import { renderLeaks } from "../../src/monitor/leaks/render.js";
import type { LeakReport } from "../../src/server/api-types.js";
import { perMemoryType } from "../../src/server/leaks/leak-report.js";

function report(overLimit: boolean): LeakReport {
  const bytes = perMemoryType();
  bytes.DRAM = 24 * 1024;
  const allocations = perMemoryType();
  allocations.DRAM = 6;
  return {
    id: 1,
    sessionId: "a".repeat(32),
    pid: 4242,
    processName: "llama",
    startedAtMs: Date.UTC(2026, 10, 27, 12, 0, 0),
    endedAtMs: Date.UTC(2026, 10, 27, 12, 5, 0),
    reason: "process-exited",
    allocations,
    bytes,
    largest: [],
    oldest: [],
    byContext: [{ context: "ttnn.matmul", allocations, bytes }],
    ...(overLimit ? { overLimit: true as const } : {}),
  };
}

test("a report's row: pid, name, end, reason, bytes per type, top contexts", () => {
  const text = renderLeaks([report(false)]);
  assert.match(
    text,
    /4242 +llama +2026-11-27 12:05:00 +process-exited +DRAM 24\.0 KiB +ttnn\.matmul 24\.0 KiB/,
  );
  assert.doesNotMatch(text, /at least/);
});

test("over the server's limits: the leaked bytes read 'at least'", () => {
  assert.match(renderLeaks([report(true)]), /process-exited +at least DRAM 24\.0 KiB/);
});
