// Shared by the history tests: temporary database files and a hand-made leak report.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LeakReport, PerMemoryType } from "../../src/server/api-types.js";
import { zeroPerType } from "../../src/server/history/lifetime-store.js";

/** A fresh directory for database files; `remove` deletes it and everything in it. */
export function tempHistoryDir(): { dir: string; path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "aw-history-"));
  return {
    dir,
    path: join(dir, "history.sqlite"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function perType(values: Partial<PerMemoryType>): PerMemoryType {
  return { ...zeroPerType(), ...values };
}

/** A leak report as the leak detector builds one (id 0: not stored yet). */
export function leakReport(pid: number, endedAtMs: number, dramBytes: number): LeakReport {
  const leaked = {
    deviceId: 0,
    memoryType: "DRAM" as const,
    allocationId: 7,
    address: 0x1000,
    sizeBytes: dramBytes,
    ageMs: 1500,
    context: "matmul",
  };
  return {
    id: 0,
    sessionId: "ab".repeat(16),
    pid,
    processName: "leaky",
    startedAtMs: endedAtMs - 1500,
    endedAtMs,
    reason: "process-exited",
    allocations: perType({ DRAM: 1 }),
    bytes: perType({ DRAM: dramBytes }),
    largest: [leaked],
    oldest: [leaked],
    byContext: [
      { context: "matmul", allocations: perType({ DRAM: 1 }), bytes: perType({ DRAM: dramBytes }) },
    ],
  };
}
