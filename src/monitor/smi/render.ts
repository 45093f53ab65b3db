import type {
  ApiMemoryType,
  DeviceSummary,
  MemoryUsage,
  ProcessSummary,
  SummaryResponse as Summary,
} from "../../server/api-types.js";
import { usageBar } from "./bar.js";
import { type Column, layoutTable } from "./table.js";
import { formatBytes, percent } from "./units.js";

export interface RenderOptions {
  /** Base URL of the server, shown in the title line. */
  serverUrl?: string;
  /** Time of the reading, shown in the title line (omitted when absent, so output is reproducible). */
  now?: Date;
  /** Colour the usage bars (green / yellow at 75% / red at 90%). */
  color?: boolean;
  /** Cells in the DRAM bar. */
  barWidth?: number;
}

/** Memory types listed by used bytes only (their own columns, in this order). */
const SMALL_TYPES = ["L1_SMALL", "TRACE", "CB", "KERNEL"] as const;
/** Memory types in the process table, in this order. */
const PROCESS_TYPES = ["DRAM", "L1", ...SMALL_TYPES] as const;
const NO_USAGE: MemoryUsage = { used: 0, total: 0, peak: 0, allocations: 0, leaked: 0 };

const GREEN = "\x1b[32m";
const YELLOW = "\x1b[33m";
const RED = "\x1b[31m";
const RESET = "\x1b[0m";

/**
 * The smi screen for one summary: title, device table, process table, anomaly line. A pure function of
 * its input (no clock, no terminal), so it is tested with fixed summaries. Lines end with "\n".
 */
export function renderSmi(summary: Summary, options: RenderOptions = {}): string {
  const title = ["allocwatch smi", options.now && formatTime(options.now), options.serverUrl]
    .filter(Boolean)
    .join("  ·  ");
  const lines = [
    title,
    "",
    ...deviceTable(summary.devices, options),
    ...holderLines(summary.devices),
    "",
    ...processTable(summary),
  ];
  lines.push("", anomalyLine(summary));
  return lines.join("\n") + "\n";
}

function usage(device: DeviceSummary, type: ApiMemoryType): MemoryUsage {
  // Defensive: a server of another version may omit a type.
  return device.memory[type] ?? NO_USAGE;
}

/** "used / total" cells whose slashes line up down the column. */
function usedOfTotal(pairs: readonly MemoryUsage[]): string[] {
  const used = pairs.map((u) => formatBytes(u.used));
  const total = pairs.map((u) => (u.total > 0 ? formatBytes(u.total) : "-"));
  const usedWidth = Math.max(0, ...used.map((s) => s.length));
  const totalWidth = Math.max(0, ...total.map((s) => s.length));
  return pairs.map((_, i) => `${used[i]!.padStart(usedWidth)} / ${total[i]!.padStart(totalWidth)}`);
}

function colourFor(pct: number): string {
  if (pct >= 90) return RED;
  if (pct >= 75) return YELLOW;
  return GREEN;
}

function deviceTable(devices: readonly DeviceSummary[], options: RenderOptions): string[] {
  if (devices.length === 0) {
    return ["No devices found (no Tenstorrent card, no tt-metal shared-memory region, no client reporting)."];
  }
  const sorted = [...devices].sort((a, b) => a.id - b.id);
  const barWidth = options.barWidth ?? 10;
  const dram = sorted.map((d) => usage(d, "DRAM"));
  const l1 = sorted.map((d) => usage(d, "L1"));
  const dramCells = usedOfTotal(dram);
  const l1Cells = usedOfTotal(l1);
  const showLeaked = sorted.some((d) => leakedBytes(d) > 0);
  const columns: Column[] = [
    { header: "ID", align: "right" },
    { header: "Name", align: "left" },
    { header: "DRAM used / total", align: "left" },
    { header: "", align: "left" },
    { header: "DRAM%", align: "right" },
    { header: "L1 used / total", align: "left" },
    { header: "L1%", align: "right" },
    ...SMALL_TYPES.map((type): Column => ({ header: type, align: "right" })),
    { header: "Allocs", align: "right" },
    ...(showLeaked ? [{ header: "Leaked", align: "right" } as Column] : []),
  ];
  const rows = sorted.map((device, i) => {
    const dramPct = percent(dram[i]!.used, dram[i]!.total);
    const bar = `[${usageBar(dram[i]!.used, dram[i]!.total, barWidth)}]`;
    return [
      String(device.id),
      device.name,
      dramCells[i]!,
      options.color ? colourFor(dramPct) + bar + RESET : bar,
      dram[i]!.total > 0 ? `${dramPct}%` : "-",
      l1Cells[i]!,
      l1[i]!.total > 0 ? `${percent(l1[i]!.used, l1[i]!.total)}%` : "-",
      ...SMALL_TYPES.map((type) => formatBytes(usage(device, type).used)),
      String(device.allocations),
      ...(showLeaked ? [formatBytes(leakedBytes(device))] : []),
    ];
  });
  return layoutTable(columns, rows);
}

/** Bytes held by shared-memory slots of exited processes, all types. */
function leakedBytes(device: DeviceSummary): number {
  let bytes = 0;
  for (const u of Object.values(device.memory)) bytes += u.leaked ?? 0;
  return bytes;
}

/** Who has each card open: what tt-smi users ask first ("which PIDs use the card"). */
function holderLines(devices: readonly DeviceSummary[]): string[] {
  const lines: string[] = [];
  for (const device of [...devices].sort((a, b) => a.id - b.id)) {
    const holders = device.holders ?? [];
    if (holders.length === 0) continue;
    const list = holders
      .map((h) => `${h.pid} ${h.name}${h.reporting ? "" : " (holds the device, not reporting)"}`)
      .join(", ");
    lines.push(`Device ${device.id}${device.card !== undefined ? ` (${device.card})` : ""} held by: ${list}`);
  }
  return lines.length > 0 ? ["", ...lines] : [];
}

function processTable(summary: Summary): string[] {
  const rows: string[][] = [];
  const processes = [...summary.processes].sort((a, b) => a.pid - b.pid);
  const showState = processes.some((p) => p.state !== undefined);
  const showSource = processes.some((p) => p.source !== undefined && p.source !== "native");
  for (const process of processes) {
    const devices = [...process.devices].sort((a, b) => a.id - b.id);
    // A process that holds nothing yet still gets a row: it is connected and may allocate any moment.
    const shown: { id: number; used: Partial<Record<ApiMemoryType, number>> }[] =
      devices.length > 0 ? devices : [{ id: -1, used: {} }];
    for (const device of shown) {
      rows.push([
        String(process.pid),
        process.name,
        device.id >= 0 ? String(device.id) : "-",
        ...PROCESS_TYPES.map((type) => formatBytes(device.used[type] ?? 0)),
        ...(showSource ? [process.source] : []),
        ...(showState ? [stateOf(process)] : []),
      ]);
    }
  }
  if (rows.length === 0) return ["Processes: none reporting."];
  const columns: Column[] = [
    { header: "PID", align: "right" },
    { header: "Process", align: "left" },
    { header: "Device", align: "right" },
    ...PROCESS_TYPES.map((type): Column => ({ header: type, align: "right" })),
    ...(showSource ? [{ header: "Source", align: "left" } as Column] : []),
    ...(showState ? [{ header: "State", align: "left" } as Column] : []),
  ];
  return ["Processes:", ...layoutTable(columns, rows)];
}

function stateOf(process: ProcessSummary): string {
  // A dead tt-metal process's bytes are leaked until a tt-metal process reaps its slot.
  return process.state === "dead" ? "dead (leaked)" : (process.state ?? "");
}

function anomalyLine(summary: Summary): string {
  const { total, byKind } = summary.anomalies;
  if (total === 0) return "Anomalies: none";
  const kinds = Object.entries(byKind)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, count]) => `${kind} ${count}`);
  return `Anomalies: ${total}${kinds.length > 0 ? ` (${kinds.join(", ")})` : ""}  — see /api/v1/anomalies`;
}

function formatTime(now: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())} ` +
    `${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`
  );
}
