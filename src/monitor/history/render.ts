import type { HistoryPoint, HistoryResponse, HistorySeries } from "../../server/api-types.js";
import { columns, fit, terminalSafe } from "../terminal-text.js";
import { formatBytes } from "../units.js";

/** Block characters of a sparkline, lowest to highest. */
const LEVELS = "▁▂▃▄▅▆▇█";
/** Most columns a sparkline takes. */
export const SPARKLINE_WIDTH = 60;
/** Most lifetimes and anomalies listed under the chart. */
const LISTED = 10;

export interface HistoryRenderOptions {
  serverUrl: string;
  /** ANSI bold for headings (off when not a terminal, or NO_COLOR is set). */
  color: boolean;
  /** Columns of each sparkline. Default SPARKLINE_WIDTH. */
  width?: number;
}

/**
 * The history as text: one sparkline per series (each column the highest `max` of its points, scaled
 * to the series' own peak; a blank where nothing was recorded), its latest and peak bytes, then the
 * processes that lived in the range and the latest anomalies.
 */
export function renderHistory(history: HistoryResponse, options: HistoryRenderOptions): string {
  const bold = (text: string) => (options.color ? `\x1b[1m${text}\x1b[0m` : text);
  const width = options.width ?? SPARKLINE_WIDTH;
  const lines = [
    `${bold("allocwatch history")}  ${options.serverUrl}  ${time(history.fromMs)} → ${time(history.toMs)}  ` +
      `(step ${history.stepMs / 1000} s, kept ${retention(history.retentionMs)})`,
  ];
  if (history.series.length === 0) lines.push("  no samples in this range");
  for (const series of history.series) {
    const points = series.points;
    const peak = Math.max(0, ...points.map((p) => p.max));
    const latest = points.at(-1)?.last ?? 0;
    lines.push(
      `  ${padColumns(label(series), 28)} ${sparkline(points, history.fromMs, history.toMs, width, peak)}  ` +
        `now ${formatBytes(latest).padStart(10)}  peak ${formatBytes(peak).padStart(10)}`,
    );
  }
  if (history.truncated) {
    lines.push(`  (cut at ${history.maxPoints} points: narrow --since, or pick a --device, --type or --pid)`);
  }
  if (history.lifetimes.length > 0) {
    lines.push(bold("processes"));
    for (const l of history.lifetimes.slice(0, LISTED)) {
      const leaked = Object.entries(l.leakedBytes).filter(([, bytes]) => bytes > 0);
      lines.push(
        `  pid ${String(l.pid).padEnd(8)} ${fit(terminalSafe(l.processName), 24)} ${time(l.startedAtMs)} → ` +
          (l.endedAtMs === null ? "running" : `${time(l.endedAtMs)} (${l.endReason})`) +
          (leaked.length > 0
            ? `  leaked ${leaked.map(([type, bytes]) => `${type} ${formatBytes(bytes)}`).join(", ")}`
            : ""),
      );
    }
  }
  if (history.anomalies.length > 0) {
    lines.push(bold(`anomalies (${history.anomalies.length}${history.anomalies.length >= 1000 ? "+" : ""})`));
    for (const a of history.anomalies.slice(0, LISTED)) {
      lines.push(`  ${time(a.timeMs)}  ${a.kind}  pid ${a.pid}  ${terminalSafe(a.detail).slice(0, 80)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function retention(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${Math.round(ms / 60_000)}m`;
}

function label(series: HistorySeries): string {
  const device = `device ${series.deviceId} ${series.memoryType}`;
  return series.pid === null ? device : `${device} pid ${series.pid}`;
}

/**
 * `width` columns over [fromMs, toMs]: each the highest max of the points in it, as one of 8 levels of
 * `peak` (a column with bytes in use never shows as the lowest level of an idle one: it rounds up).
 */
export function sparkline(
  points: readonly HistoryPoint[],
  fromMs: number,
  toMs: number,
  width: number,
  peak: number,
): string {
  const columns: number[] = new Array(width).fill(-1);
  const span = Math.max(1, toMs - fromMs + 1);
  for (const point of points) {
    const column = Math.min(width - 1, Math.max(0, Math.floor(((point.t - fromMs) / span) * width)));
    columns[column] = Math.max(columns[column]!, point.max);
  }
  let text = "";
  for (const value of columns) {
    if (value < 0) text += " ";
    else if (peak <= 0 || value <= 0) text += LEVELS[0];
    else text += LEVELS[Math.max(1, Math.ceil((value / peak) * (LEVELS.length - 1)))];
  }
  return text;
}

/** Local time of day, with the date when it is not today. */
function time(ms: number): string {
  const date = new Date(ms);
  const clock = date.toTimeString().slice(0, 8);
  return date.toDateString() === new Date().toDateString()
    ? clock
    : `${date.toISOString().slice(0, 10)} ${clock}`;
}

/** `text` padded to `width` columns (wide characters count two), never cut. */
function padColumns(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - columns(text)));
}
