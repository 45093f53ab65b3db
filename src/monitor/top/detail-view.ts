import type { AllocationView } from "../../server/api-types.js";
import { fit, terminalSafe } from "../terminal-text.js";
import { formatBytes } from "../units.js";
import { type Line, seg } from "./line.js";
import type { ProcessRow } from "./process-table.js";

/** The drill-down on one process row: its largest and oldest allocations on the row's device. */
export interface Detail {
  row: ProcessRow;
  status: "loading" | "ready" | "error";
  largest?: AllocationView[];
  oldest?: AllocationView[];
  /** Live allocations of the process on the device (before the limit). */
  total?: number;
  error?: string;
}

/** Allocations listed per table at most (the server's `limit`). */
export const DETAIL_LIMIT = 10;

export function detailView(detail: Detail, height: number): Line[] {
  const { row } = detail;
  const lines: Line[] = [
    [
      seg(`Process ${row.pid} `, { bold: true }),
      seg(terminalSafe(row.name)),
      seg(
        `  device ${row.deviceId < 0 ? "-" : row.deviceId}  ${terminalSafe(row.state)}  ${terminalSafe(row.source)}`,
        {
          color: "gray",
        },
      ),
    ],
    [],
  ];
  if (row.source === "tt-shm") {
    lines.push([seg("tt-metal shared memory gives counters only: no allocation list for this process.")]);
    return lines;
  }
  if (row.deviceId < 0) {
    lines.push([seg("This process holds nothing on any device yet.")]);
    return lines;
  }
  if (detail.status === "loading") {
    lines.push([seg("Loading allocations…", { color: "gray" })]);
    return lines;
  }
  if (detail.status === "error") {
    lines.push([seg(`Cannot list allocations: ${terminalSafe(detail.error ?? "")}`, { color: "red" })]);
    return lines;
  }
  const each = Math.max(1, Math.floor((height - lines.length - 4) / 2));
  lines.push(
    [seg(`Largest of ${detail.total ?? 0} live allocations`, { bold: true })],
    ...table(detail.largest ?? [], each),
    [],
    [seg("Oldest", { bold: true })],
    ...table(detail.oldest ?? [], each),
  );
  return lines;
}

function table(allocations: readonly AllocationView[], rows: number): Line[] {
  const header: Line = [
    seg(
      `  ${fit("Type", 9)}${fit("Size", 11, "right")}  ${fit("Address", 12)}  ${fit("Age", 9, "right")}  ${fit("Id", 8)}  Context`,
      {
        color: "gray",
      },
    ),
  ];
  if (allocations.length === 0) return [header, [seg("  none")]];
  return [
    header,
    ...allocations
      .slice(0, Math.max(1, rows - 1))
      .map(
        (a): Line => [
          seg(
            `  ${fit(a.memoryType, 9)}${fit(formatBytes(a.sizeBytes), 11, "right")}  ${fit(`0x${a.address.toString(16)}`, 12)}  ${fit(formatAge(a.ageMs), 9, "right")}  ${fit(String(a.allocationId), 8)}  ${terminalSafe(a.context)}`,
          ),
        ],
      ),
  ];
}

/** "950 ms", "12.3 s", "4m05s", "2h01m". */
export function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
