import type { ApiMemoryType, ProcessSummary, SummaryResponse } from "../../server/api-types.js";
import { MEMORY_TYPE_HEADER, MEMORY_TYPES_BY_PRIORITY } from "../memory-types.js";
import { fit, terminalSafe } from "../terminal-text.js";
import { formatMiB } from "../units.js";
import { type Line, seg } from "./line.js";

/** What the process table is sorted by: a memory type (most first), the pid or the name. */
export type SortKey = "DRAM" | "L1" | "CB" | "TRACE" | "pid" | "name";
/** `s` steps through these. */
export const SORT_KEYS: readonly SortKey[] = ["DRAM", "L1", "CB", "TRACE", "pid", "name"];

/** One row: a process on one device (a process on two devices has two rows, as in smi). */
export interface ProcessRow {
  pid: number;
  name: string;
  sessionId: string;
  state: string;
  source: string;
  /** -1: the process holds nothing on any device yet. */
  deviceId: number;
  used: Partial<Record<ApiMemoryType, number>>;
}

const TYPES_100 = MEMORY_TYPES_BY_PRIORITY;
const TYPES_80 = TYPES_100.slice(0, 5);
const HEADER = MEMORY_TYPE_HEADER;
const TYPE_WIDTH = 9;
const STATE: Record<string, string> = {
  connected: "conn",
  disconnected: "disc",
  reporting: "live",
  dead: "dead",
};

/** The rows of `summary`, on `deviceId` only when given, sorted by `sort` (pid, then device, breaks ties). */
export function processRows(
  summary: SummaryResponse,
  sort: SortKey,
  deviceId: number | undefined,
): ProcessRow[] {
  const rows: ProcessRow[] = [];
  for (const p of summary.processes) {
    const devices = p.devices.filter((d) => deviceId === undefined || d.id === deviceId);
    if (devices.length === 0 && deviceId === undefined) rows.push(row(p, -1, {}));
    for (const d of devices) rows.push(row(p, d.id, d.used));
  }
  const byPid = (a: ProcessRow, b: ProcessRow) => a.pid - b.pid || a.deviceId - b.deviceId;
  return rows.sort((a, b) => {
    if (sort === "pid") return byPid(a, b);
    if (sort === "name") return a.name.localeCompare(b.name) || byPid(a, b);
    return (b.used[sort] ?? 0) - (a.used[sort] ?? 0) || byPid(a, b);
  });
}

function row(p: ProcessSummary, deviceId: number, used: ProcessRow["used"]): ProcessRow {
  return {
    pid: p.pid,
    name: p.name,
    sessionId: p.sessionId,
    state: p.state,
    source: p.source,
    deviceId,
    used,
  };
}

/** The process table's header and its visible rows (`height` lines at most, the selection kept in view). */
export function processTable(
  rows: readonly ProcessRow[],
  options: { sort: SortKey; selected: number; height: number; columns: number },
): Line[] {
  const { sort, selected, columns } = options;
  const types = columns >= 100 ? TYPES_100 : TYPES_80;
  const fixed = 7 + 1 + 1 + 4 + 1 + 3 + types.length * TYPE_WIDTH;
  const nameWidth = Math.max(8, Math.min(32, columns - fixed));
  const mark = (key: SortKey, text: string) => (sort === key ? `${text}▼` : text);
  const header: Line = [
    seg(
      fit(mark("pid", "PID"), 7, "right") +
        " " +
        fit(mark("name", "Process"), nameWidth) +
        " " +
        fit("St", 4) +
        " " +
        fit("Dev", 3, "right") +
        types.map((t) => fit(mark(t as SortKey, HEADER[t]), TYPE_WIDTH, "right")).join(""),
      { bold: true },
    ),
  ];
  if (rows.length === 0) return [header, [seg("  no process reports memory", { color: "gray" })]];
  const visible = Math.max(1, options.height - 1);
  const first = Math.max(0, Math.min(selected - visible + 1, rows.length - visible));
  const lines: Line[] = [header];
  for (let i = Math.max(0, first); i < Math.min(rows.length, first + visible); i++) {
    const r = rows[i]!;
    const text =
      fit(String(r.pid), 7, "right") +
      " " +
      fit(terminalSafe(r.name), nameWidth) +
      " " +
      fit(STATE[r.state] ?? terminalSafe(r.state), 4) +
      " " +
      fit(r.deviceId < 0 ? "-" : String(r.deviceId), 3, "right") +
      types
        .map((t) =>
          fit(formatMiB(r.used[t] ?? 0, t === "DRAM" || t === "SYSTEM_MEMORY" ? 0 : 1), TYPE_WIDTH, "right"),
        )
        .join("");
    const style = i === selected ? { inverse: true } : r.state === "dead" ? { color: "red" as const } : {};
    lines.push([seg(text, style)]);
  }
  return lines;
}
