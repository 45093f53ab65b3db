import { API_MEMORY_TYPES, type LeakReport, type PerMemoryType } from "../../server/api-types.js";
import { layoutTable } from "../table.js";
import { terminalSafe } from "../terminal-text.js";
import { formatBytes } from "../units.js";

/** Contexts named per report in the table (most bytes first). */
const TOP_CONTEXTS = 3;

/**
 * The readable form of leak reports: one row per report (pid, name, when it ended, why, bytes per memory
 * type that leaked, the contexts that leaked most), newest first; "no leak reports" when there are none.
 */
export function renderLeaks(reports: readonly LeakReport[]): string {
  if (reports.length === 0) return "no leak reports: no process has ended holding device memory\n";
  const rows = reports.map((r) => [
    String(r.pid),
    terminalSafe(r.processName),
    new Date(r.endedAtMs).toISOString().replace("T", " ").slice(0, 19),
    r.reason,
    // Over the server's limits: the refused allocations are not counted, so at least this much leaked.
    r.overLimit === true ? `at least ${bytesPerType(r.bytes)}` : bytesPerType(r.bytes),
    topContexts(r),
  ]);
  const lines = layoutTable(
    [
      { header: "PID", align: "right" },
      { header: "NAME", align: "left" },
      { header: "ENDED (UTC)", align: "left" },
      { header: "REASON", align: "left" },
      { header: "LEAKED", align: "left" },
      { header: "TOP CONTEXTS", align: "left" },
    ],
    rows,
  );
  return `${lines.join("\n")}\n`;
}

/** "DRAM 24.0 KiB, L1 3.0 KiB": the types that leaked, in wire order. */
function bytesPerType(bytes: PerMemoryType): string {
  const parts = API_MEMORY_TYPES.filter((t) => bytes[t] > 0).map((t) => `${t} ${formatBytes(bytes[t])}`);
  return parts.length === 0 ? "-" : parts.join(", ");
}

function topContexts(report: LeakReport): string {
  const total = (bytes: PerMemoryType) => API_MEMORY_TYPES.reduce((n, t) => n + bytes[t], 0);
  const parts = report.byContext
    .slice(0, TOP_CONTEXTS)
    .map((g) => `${g.context === "" ? "(none)" : terminalSafe(g.context)} ${formatBytes(total(g.bytes))}`);
  const more = report.byContext.length - TOP_CONTEXTS;
  if (more > 0) parts.push(`+${more} more`);
  return parts.join(", ");
}
