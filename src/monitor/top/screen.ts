import type { SummaryResponse } from "../../server/api-types.js";
import { terminalSafe } from "../terminal-text.js";
import { detailView } from "./detail-view.js";
import { deviceBlock, deviceLine, typesThatFit } from "./device-panel.js";
import { clip, type Line, seg, withoutColour } from "./line.js";
import type { FeedSnapshot } from "./live-feed.js";
import { processRows, processTable } from "./process-table.js";
import type { UiState } from "./ui-state.js";

export interface ScreenInput {
  snapshot: FeedSnapshot;
  ui: UiState;
  columns: number;
  rows: number;
  nowMs: number;
  serverUrl: string;
  color: boolean;
}

/** Process rows always kept on screen (header and three rows), before devices take the rest. */
const MIN_PROCESS_LINES = 4;

/**
 * Top's whole screen for one moment: at most `rows - 1` lines (a full terminal would scroll), each cut
 * to `columns` (never wrapped), colours dropped unless `color`. Pure: tested without a terminal.
 */
export function topScreen(input: ScreenInput): Line[] {
  const height = Math.max(5, input.rows - 1);
  const body = screenBody(input, height);
  const lines = body.slice(0, height).map((line) => clip(line, input.columns));
  return input.color ? lines : lines.map(withoutColour);
}

function screenBody(input: ScreenInput, height: number): Line[] {
  const { snapshot, ui } = input;
  const summary = snapshot.summary;
  const header = headerLine(input);
  if (snapshot.status === "no-server" || snapshot.status === "server-error" || summary === undefined) {
    return [header, [], ...waitingLines(input), [], footer(input)];
  }
  if (ui.mode === "help")
    return [header, [], ...HELP, [], [seg("any key closes this help", { color: "gray" })]];
  if (ui.mode === "detail" && ui.detail !== undefined) {
    return [header, [], ...detailView(ui.detail, height - 4), [], footer(input)];
  }
  const devices = summary.devices
    .filter((d) => ui.device === undefined || d.id === ui.device)
    .sort((a, b) => a.id - b.id);
  const deviceBudget = Math.max(1, height - 4 - MIN_PROCESS_LINES);
  const panel: Line[] = [];
  const context = { series: snapshot.series, nowMs: input.nowMs, columns: input.columns };
  if (devices.length === 0) {
    panel.push([seg("No devices found (no card, no tt-metal shared memory, no client reporting).")]);
  } else if (typesThatFit(devices, deviceBudget) > 0) {
    const types = typesThatFit(devices, deviceBudget);
    for (const d of devices) panel.push(...deviceBlock(d, context, types));
  } else if (devices.length <= deviceBudget) {
    for (const d of devices) panel.push(deviceLine(d));
  } else {
    for (const d of devices.slice(0, deviceBudget - 1)) panel.push(deviceLine(d));
    panel.push([
      seg(`… ${devices.length - deviceBudget + 1} more devices (f shows one at a time)`, { color: "gray" }),
    ]);
  }
  const rows = processRows(summary, ui.sort, ui.device);
  const table = processTable(rows, {
    sort: ui.sort,
    selected: Math.min(ui.selected, Math.max(0, rows.length - 1)),
    height: height - 4 - panel.length,
    columns: input.columns,
  });
  return [header, ...panel, [], ...table, anomalyLine(summary), footer(input)];
}

function headerLine(input: ScreenInput): Line {
  const { snapshot } = input;
  const server = snapshot.summary?.server;
  const status: Record<FeedSnapshot["status"], Line[number]> = {
    live: seg("live", { color: "green" }),
    connecting: seg(snapshot.summary ? "reconnecting" : "connecting", { color: "yellow" }),
    "no-server": seg("no server", { color: "red", bold: true }),
    "server-error": seg("server error", { color: "red", bold: true }),
  };
  return [
    seg("allocwatch top", { bold: true }),
    seg(server ? `  ·  server ${terminalSafe(server.version)}  ·  up ${formatUptime(server.uptimeMs)}` : ""),
    seg("  ·  "),
    status[snapshot.status],
    seg(`  ·  ${input.serverUrl}`, { color: "gray" }),
  ];
}

function waitingLines(input: ScreenInput): Line[] {
  const { snapshot } = input;
  if (snapshot.status === "connecting") return [[seg(`Connecting to ${input.serverUrl}…`)]];
  const problem = terminalSafe(snapshot.problem ?? `no allocation server at ${input.serverUrl}`);
  return [
    ...wrapWords(problem, input.columns).map((text): Line => [seg(text, { color: "red" })]),
    [seg("Retrying every second; q quits.")],
  ];
}

/** `text` in lines of at most `width` columns, broken at spaces where it can be. */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > width) {
    const space = rest.lastIndexOf(" ", width);
    const cut = space > 0 ? space : width;
    lines.push(rest.slice(0, cut));
    rest = rest.slice(space > 0 ? cut + 1 : cut);
  }
  lines.push(rest);
  return lines;
}

function footer(input: ScreenInput): Line {
  const { ui } = input;
  const keys =
    ui.mode === "detail"
      ? "Esc back  q quit  ? help"
      : `q quit  ? help  ↑↓ select  Enter details  s sort: ${ui.sort}  f device: ${ui.device ?? "all"}`;
  return [seg(keys, { color: "gray" })];
}

function anomalyLine(summary: SummaryResponse): Line {
  const { total, byKind } = summary.anomalies;
  if (total === 0) return [seg("Anomalies: none", { color: "gray" }), ...limitSegments(summary)];
  const kinds = Object.entries(byKind)
    .filter(([, count]) => count > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, count]) => `${terminalSafe(kind)} ${count}`)
    .join(", ");
  return [
    seg(`Anomalies: ${total}`, { color: "red", bold: true }),
    seg(kinds ? ` (${kinds})` : ""),
    ...limitSegments(summary),
  ];
}

/**
 * (process, device) pairs over the server's live-allocation limits (older servers do not say), and what
 * went wrong on the legacy adapter's connections, when it runs: a refused tt-metal client dies of SIGPIPE.
 */
function limitSegments(summary: SummaryResponse): Line {
  const out: Line = [];
  const over = summary.server?.overLimit ?? 0;
  if (over > 0) out.push(seg(`  ! ${over} over alloc limit`, { color: "yellow", bold: true }));
  const legacy = summary.server?.legacy;
  if (legacy !== undefined) {
    const trouble = [
      [legacy.refusedConnections, "refused"],
      [legacy.quarantines, "quarantined"],
      [legacy.unknownFrees, "unknown frees"],
    ]
      .filter(([count]) => (count as number) > 0)
      .map(([count, what]) => `${count} ${what}`);
    if (trouble.length > 0)
      out.push(seg(`  ! legacy: ${trouble.join(", ")}`, { color: "yellow", bold: true }));
  }
  return out;
}

const HELP: Line[] = [
  [seg("Keys", { bold: true })],
  [seg("  ↑ ↓  k j   select a process row")],
  [seg("  Enter      its largest and oldest allocations on that device;  Esc back")],
  [seg("  s          sort by DRAM, L1, CB, TRACE (most first), pid, name")],
  [seg("  f          one device at a time, then all")],
  [seg("  ?          this help;  q or Ctrl+C quit")],
  [],
  [seg("Reading it", { bold: true })],
  [seg("  bars: █ used (▓ CB inside L1), | peak since server start; MiB used/capacity")],
  [seg("  L1+CB: circular buffers live in L1 and count against it; ! over capacity")],
  [seg("  chart: last 60 s, each cell the per-second maximum, so bursts show")],
  [seg("  St: conn, disc (in reconnect grace), live (tt-metal shm), dead (leaked)")],
];

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
