import { writeFileSync } from "node:fs";
import type { MachineInfo } from "./machine.js";

/** One metric's outcome, as written to the JSON report. */
export interface MetricResult {
  /** Median of the measured runs; null when the benchmark failed. */
  value: number | null;
  unit: string;
  /** Every measured run's value, in run order (warm-up excluded). */
  runs: number[];
  min: number | null;
  max: number | null;
  /** Target on the reference machine; null for informational metrics. */
  target: number | null;
  comparison: ">=" | "<=";
  /** value compared with target; true for informational metrics that were measured. */
  met: boolean;
  tier: "micro" | "e2e";
  /** Why the benchmark produced no value. */
  error?: string;
  /** Why the benchmark did not run on this machine (not a failure; `value` is null). */
  skipped?: string;
}

export interface BenchReport {
  machine: MachineInfo;
  quick: boolean;
  startedAt: string;
  durationMs: number;
  results: Record<string, MetricResult>;
}

export function formatTable(report: BenchReport): string {
  const header = ["metric", "median", "min", "max", "unit", "target", "met"];
  const rows = Object.entries(report.results).map(([name, r]) => [
    name,
    formatNumber(r.value),
    formatNumber(r.min),
    formatNumber(r.max),
    r.unit,
    r.target === null ? "-" : `${r.comparison} ${formatNumber(r.target)}`,
    r.error
      ? `ERROR: ${r.error}`
      : r.skipped
        ? `SKIPPED: ${r.skipped}`
        : r.target === null
          ? "-"
          : r.met
            ? "yes"
            : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 || i >= 4 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  const m = report.machine;
  return [
    `allocwatch benchmarks${report.quick ? " (--quick: reduced sizes, not comparable to targets)" : ""}`,
    `machine: ${m.cores} cores, ${m.cpuModel}, node ${m.node}, ${m.platform}, load ${m.loadavg.join(" ")}` +
      (m.loadavgEnd ? ` -> ${m.loadavgEnd.join(" ")}` : ""),
    "",
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "",
  ].join("\n");
}

/** Three significant decimals below 100, thousands separators above. */
export function formatNumber(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return "-";
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en-US");
  return Number(value.toPrecision(3)).toString();
}

/** Writes the report as pretty JSON (NaN and Infinity become null, as JSON requires). */
export function writeJsonReport(path: string, report: BenchReport): void {
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}
