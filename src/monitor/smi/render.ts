import {
  API_MEMORY_TYPES,
  type ApiMemoryType,
  type DeviceSummary,
  type ProcessSummary,
  type SummaryResponse as Summary,
} from "../../server/api-types.js";
import { overCapacity, utilisation } from "../capacity.js";
import { MEMORY_TYPE_DECIMALS, MEMORY_TYPE_HEADER } from "../memory-types.js";
import { fit, terminalSafe } from "../terminal-text.js";
import { formatMiB } from "../units.js";
import { DEFAULT_SMI_COLUMNS, type SmiLayout, smiLayout, TYPE_WIDTH } from "./columns.js";
import { type SmiFilter, selectSummary } from "./filter.js";

export interface RenderOptions extends SmiFilter {
  /** Base URL of the server, shown in the title line. */
  serverUrl?: string;
  /** Time of the reading, shown in the title line (omitted when absent, so output is reproducible). */
  now?: Date;
  /** Colour the use% figures (green / yellow at 75% / red at 90% and over capacity). */
  color?: boolean;
  /** Terminal width the tables must fit: below 100 the 80-column profile. Default 100. */
  columns?: number;
  /** Every column, whatever the width (`--wide`). */
  wide?: boolean;
}

const GREEN = "\x1b[32m";
const YELLOW = "\x1b[33m";
const RED = "\x1b[31m";
const RESET = "\x1b[0m";

const ID_WIDTH = 3;
const LABEL_WIDTH = 5;
const ALLOCS_WIDTH = 8;
const PID_WIDTH = 7;
const DEV_WIDTH = 3;
const STATE_WIDTH = 12;
const SOURCE_WIDTH = 7;

/**
 * The smi screen for one summary: title, device table (four lines a device: used, peak, total and
 * use%, all in MiB; a fifth, leak, where exited processes left bytes), process table (a row per process and device), notes, anomaly line. A pure
 * function of its input (no clock, no terminal), so it is tested with fixed summaries. Lines end "\n".
 */
export function renderSmi(summary: Summary, options: RenderOptions = {}): string {
  const layout = smiLayout(options.columns ?? DEFAULT_SMI_COLUMNS, options.wide === true);
  const shown = selectSummary(summary, options);
  const title = [
    "allocwatch smi",
    `server ${terminalSafe(summary.server?.version ?? "?")}`,
    options.now && formatTime(options.now),
    options.serverUrl,
  ]
    .filter(Boolean)
    .join("  ·  ");
  const lines = [
    title,
    "",
    ...deviceTable(shown.devices, layout, options),
    ...holderLines(shown.devices),
    "",
    ...processTable(shown.processes, layout),
    "",
    ...notes(shown.devices, layout),
    ...limitLines(shown.processes),
    ...legacyLines(summary),
    anomalyLine(summary),
  ];
  return lines.join("\n") + "\n";
}

function deviceTable(devices: readonly DeviceSummary[], layout: SmiLayout, options: RenderOptions): string[] {
  if (devices.length === 0) {
    return options.deviceIds !== undefined
      ? [`No device with id ${options.deviceIds.join(", ")}.`]
      : ["No devices found (no Tenstorrent card, no tt-metal shared-memory region, no client reporting)."];
  }
  const header = [
    fit("ID", ID_WIDTH, "right"),
    fit("Name", layout.deviceNameWidth),
    fit("MiB", LABEL_WIDTH) +
      typeCells(layout, (type) => MEMORY_TYPE_HEADER[type]) +
      fit("Allocs", ALLOCS_WIDTH, "right"),
  ];
  const lines = [join(header)];
  for (const device of devices) {
    const row = (nameCell: string, label: string, value: (type: ApiMemoryType) => string) =>
      join([
        fit(label === "used" ? String(device.id) : "", ID_WIDTH, "right"),
        fit(nameCell, layout.deviceNameWidth),
        fit(label, LABEL_WIDTH) +
          typeCells(layout, value) +
          (label === "used" ? fit(String(device.allocations), ALLOCS_WIDTH, "right") : ""),
      ]);
    const mib = (type: ApiMemoryType, bytes: number) => formatMiB(bytes, MEMORY_TYPE_DECIMALS[type]);
    const card = device.card !== undefined ? `card ${terminalSafe(device.card)}` : "";
    lines.push(
      row(terminalSafe(device.name), "used", (t) => mib(t, device.memory[t]?.used ?? 0)),
      row(terminalSafe(device.architecture ?? ""), "peak", (t) => mib(t, device.memory[t]?.peak ?? 0)),
      row(card, "total", (t) => {
        const total = device.memory[t]?.total ?? 0;
        if (total > 0) return mib(t, total);
        return t === "CB" ? "in L1" : "-";
      }),
    );
    const percentRow = join([
      fit("", ID_WIDTH),
      fit("", layout.deviceNameWidth),
      fit("use%", LABEL_WIDTH) +
        layout.types
          .map((type) => {
            const u = utilisation(device, type);
            const text = u.percent === undefined ? "-" : `${u.percent}%${u.over ? "!" : ""}`;
            const cell = fit(text, TYPE_WIDTH[type], "right");
            if (!options.color || u.percent === undefined) return cell;
            const colour = u.over || u.percent >= 90 ? RED : u.percent >= 75 ? YELLOW : GREEN;
            return cell.replace(text, colour + text + RESET);
          })
          .join(""),
    ]);
    lines.push(percentRow);
    if (leakedBytes(device) > 0) {
      // Held by shared-memory slots of exited tt-metal processes until tt-metal reaps them (not in used).
      lines.push(row("", "leak", (t) => mib(t, device.memory[t]?.leaked ?? 0)));
    }
  }
  return lines;
}

/** Bytes held by shared-memory slots of exited processes, all types. */
function leakedBytes(device: DeviceSummary): number {
  let bytes = 0;
  for (const u of Object.values(device.memory)) bytes += u.leaked ?? 0;
  return bytes;
}

/** The memory-type columns of a row: fixed width each, their leading space their only gap. */
function typeCells(layout: SmiLayout, value: (type: ApiMemoryType) => string): string {
  return layout.types.map((type) => fit(value(type), TYPE_WIDTH[type], "right")).join("");
}

/** Cells joined by two spaces, without trailing spaces. */
function join(cells: readonly string[]): string {
  return cells.join("  ").trimEnd();
}

/** Who has each card open: what tt-smi users ask first ("which PIDs use the card"). */
function holderLines(devices: readonly DeviceSummary[]): string[] {
  const lines: string[] = [];
  for (const device of devices) {
    const holders = device.holders ?? [];
    if (holders.length === 0) continue;
    const list = holders
      .map(
        (h) => `${h.pid} ${terminalSafe(h.name)}${h.reporting ? "" : " (holds the device, not reporting)"}`,
      )
      .join(", ");
    const card = device.card !== undefined ? ` (${terminalSafe(device.card)})` : "";
    lines.push(`Device ${device.id}${card} held by: ${list}`);
  }
  return lines.length > 0 ? ["", ...lines] : [];
}

function processTable(processes: readonly ProcessSummary[], layout: SmiLayout): string[] {
  const header = [
    fit("PID", PID_WIDTH, "right"),
    fit("Process", layout.processNameWidth),
    fit("Dev", DEV_WIDTH, "right") + typeCells(layout, (type) => MEMORY_TYPE_HEADER[type]),
    fit("State", STATE_WIDTH),
    ...(layout.showSource ? [fit("Source", SOURCE_WIDTH)] : []),
  ];
  const rows: string[] = [];
  for (const process of processes) {
    // A process that holds nothing yet still gets a row: it is connected and may allocate any moment.
    const shown = process.devices.length > 0 ? process.devices : [undefined];
    for (const device of shown) {
      rows.push(
        join([
          fit(String(process.pid), PID_WIDTH, "right"),
          fit(terminalSafe(process.name), layout.processNameWidth),
          fit(device === undefined ? "-" : String(device.id), DEV_WIDTH, "right") +
            typeCells(layout, (type) => formatMiB(device?.used[type] ?? 0, MEMORY_TYPE_DECIMALS[type])),
          fit(stateOf(process), STATE_WIDTH),
          ...(layout.showSource ? [fit(terminalSafe(process.source ?? ""), SOURCE_WIDTH)] : []),
        ]),
      );
    }
  }
  if (rows.length === 0) return ["Processes: none reporting."];
  return ["Processes (MiB):", join(header), ...rows];
}

function stateOf(process: ProcessSummary): string {
  // A dead tt-metal process's bytes are leaked until a tt-metal process reaps its slot.
  return process.state === "dead" ? "dead, leaked" : terminalSafe(process.state ?? "");
}

/** What the figures mean where a reader could misread them, and what is hidden or wrong. */
function notes(devices: readonly DeviceSummary[], layout: SmiLayout): string[] {
  const lines: string[] = [];
  const over = devices.flatMap((d) =>
    overCapacity(d, API_MEMORY_TYPES).map(
      (o) =>
        `device ${d.id} ${o.type} ${formatMiB(o.usedBytes, 1)} MiB used > ${formatMiB(o.totalBytes, 1)} MiB`,
    ),
  );
  if (over.length > 0) lines.push(`! Over capacity: ${over.join("; ")}`);
  if (devices.some((d) => leakedBytes(d) > 0)) {
    lines.push("leak: held by exited tt-metal processes until tt-metal reaps their slots (not in used).");
  }
  if (layout.types.includes("L1") && layout.types.includes("CB")) {
    lines.push("L1 use% counts CB (CB lives in L1). Peak: the highest since the server started.");
  }
  if (layout.hiddenTypes.length > 0) {
    lines.push(
      `Not shown at this width: ${layout.hiddenTypes.map((t) => MEMORY_TYPE_HEADER[t]).join(", ")} (--wide).`,
    );
  }
  return lines;
}

/** (process, device) pairs over the server's live-allocation limits: their figures are lower bounds. */
function limitLines(processes: readonly ProcessSummary[]): string[] {
  const over = processes.flatMap((p) =>
    p.devices
      .filter((d) => d.overLimit === true)
      .map((d) => `pid ${p.pid} device ${d.id} (${d.refusedAllocations ?? 0} refused)`),
  );
  if (over.length === 0) return [];
  return [
    `! Over the server's live-allocation limit: ${over.join("; ")}; their figures are lower bounds ` +
      "until a snapshot makes them exact.",
  ];
}

/**
 * What went wrong on the legacy adapter's connections, when it runs and anything did: a refused tt-metal
 * client dies of SIGPIPE; quarantined bytes and FREEs of unknown addresses are frames not trusted.
 */
function legacyLines(summary: Summary): string[] {
  const legacy = summary.server?.legacy;
  if (legacy === undefined) return [];
  const trouble = [
    [legacy.refusedConnections, "connections refused (--legacy-max-connections)"],
    [legacy.budgetClosures, "closed for unread replies"],
    [legacy.quarantines, "quarantines"],
    [legacy.unknownFrees, "FREEs of unknown addresses"],
  ]
    .filter(([count]) => (count as number) > 0)
    .map(([count, what]) => `${count} ${what}`);
  if (trouble.length === 0) return [];
  return [`! Legacy adapter (${legacy.connections} connected): ${trouble.join(", ")}.`];
}

function anomalyLine(summary: Summary): string {
  const { total, byKind } = summary.anomalies;
  if (total === 0) return "Anomalies: none";
  const kinds = Object.entries(byKind)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, count]) => `${terminalSafe(kind)} ${count}`);
  return `Anomalies: ${total}${kinds.length > 0 ? ` (${kinds.join(", ")})` : ""}  — see /api/v1/anomalies`;
}

function formatTime(now: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())} ` +
    `${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`
  );
}
