import type { ApiMemoryType, DeviceSummary } from "../../server/api-types.js";
import { utilisation } from "../capacity.js";
import { MEMORY_TYPE_DECIMALS, MEMORY_TYPES_BY_PRIORITY } from "../memory-types.js";
import { fit, terminalSafe } from "../terminal-text.js";
import { formatMiB } from "../units.js";
import { capacityBar, sparkline } from "./chart.js";
import { type Line, seg, usageColour } from "./line.js";
import { CHART_SECONDS, type SeriesWindow } from "./series-window.js";

/**
 * The types a device block lists, most important first (a type shows when it has a capacity or was
 * used); when the screen is short, blocks keep the first ones.
 */
const PANEL_TYPES = MEMORY_TYPES_BY_PRIORITY;
const LABEL: Record<ApiMemoryType, string> = {
  DRAM: "DRAM",
  L1: "L1+CB",
  CB: "CB",
  L1_SMALL: "L1_SMALL",
  TRACE: "TRACE",
  KERNEL: "KERNEL",
  SYSTEM_MEMORY: "SYSMEM",
};
const LABEL_WIDTH = 11;
const FIGURES_WIDTH = 16;
const PERCENT_WIDTH = 6;

export interface PanelContext {
  series: SeriesWindow;
  nowMs: number;
  columns: number;
}

/** The memory types `device`'s block shows: at most `maxTypes` of them. */
export function panelTypes(device: DeviceSummary, maxTypes = PANEL_TYPES.length): ApiMemoryType[] {
  return PANEL_TYPES.filter((type) => {
    const u = device.memory[type];
    if (u === undefined) return false;
    return u.total > 0 || u.peak > 0 || u.used > 0;
  }).slice(0, maxTypes);
}

/** Lines a device block takes with at most `maxTypes` types. */
export function deviceBlockHeight(device: DeviceSummary, maxTypes = PANEL_TYPES.length): number {
  return 1 + panelTypes(device, maxTypes).length;
}

/** The most types per block that lets the blocks of `devices` fit `lines`; 0 when not even two fit. */
export function typesThatFit(devices: readonly DeviceSummary[], lines: number): number {
  for (let k = PANEL_TYPES.length; k >= 2; k--) {
    if (devices.reduce((n, d) => n + deviceBlockHeight(d, k), 0) <= lines) return k;
  }
  return 0;
}

/**
 * One device: a title line, then per memory type a capacity bar (used, and `|` at the peak), MiB used /
 * capacity, use% (L1 counts CB; `!` over capacity) and a chart of the last 60 s from the per-second max.
 */
export function deviceBlock(
  device: DeviceSummary,
  context: PanelContext,
  maxTypes = PANEL_TYPES.length,
): Line[] {
  const { columns } = context;
  const chartWidth = Math.min(CHART_SECONDS, Math.max(0, Math.floor((columns - LABEL_WIDTH) / 3)));
  const barWidth = Math.max(4, columns - LABEL_WIDTH - 2 - FIGURES_WIDTH - PERCENT_WIDTH - chartWidth - 2);
  const arch = device.architecture && device.architecture !== device.name ? ` (${device.architecture})` : "";
  const lines: Line[] = [
    [
      seg(`Device ${device.id}  `, { bold: true }),
      seg(terminalSafe(device.name + arch)),
      seg(`  ${device.allocations} allocations`, { color: "gray" }),
      seg(`   chart: last ${CHART_SECONDS} s`, { color: "gray" }),
    ],
  ];
  for (const type of panelTypes(device, maxTypes)) {
    const u = device.memory[type];
    const use = utilisation(device, type);
    const label = seg(fit(`  ${LABEL[type]}`, LABEL_WIDTH));
    const history = context.series.maxPerSecond(device.id, type, context.nowMs);
    // Charts are drawn to the capacity, as the bars (CB to L1's, which it lives in); any use shows.
    const capacity = type === "CB" ? (device.memory.L1?.total ?? 0) : use.totalBytes;
    const chartScale = capacity > 0 ? capacity : Math.max(...history);
    const chart = seg(" " + sparkline(history, chartWidth, chartScale), { color: "cyan" });
    if (type === "CB") {
      lines.push([
        label,
        seg(" ".repeat(barWidth + 2)),
        seg(fit(`${formatMiB(u.used, 1)} in L1`, FIGURES_WIDTH, "right")),
        seg(" ".repeat(PERCENT_WIDTH)),
        chart,
      ]);
      continue;
    }
    const parts =
      type === "L1"
        ? [
            { bytes: u.used, char: "█" },
            { bytes: device.memory.CB?.used ?? 0, char: "▓" },
          ]
        : [{ bytes: u.used, char: "█" }];
    const bar = capacityBar(parts, u.peak, use.totalBytes, barWidth);
    const colour = use.percent === undefined ? undefined : usageColour(use.percent, use.over);
    const figures =
      use.totalBytes > 0
        ? `${formatMiB(use.usedBytes, MEMORY_TYPE_DECIMALS[type])}/${formatMiB(use.totalBytes, MEMORY_TYPE_DECIMALS[type])} MiB`
        : `${formatMiB(use.usedBytes, MEMORY_TYPE_DECIMALS[type])} MiB`;
    const percent = use.percent === undefined ? "" : `${use.percent}%${use.over ? "!" : ""}`;
    lines.push([
      label,
      seg("["),
      seg(bar, colour ? { color: colour } : {}),
      seg("]"),
      seg(fit(figures, FIGURES_WIDTH, "right")),
      seg(fit(percent, PERCENT_WIDTH, "right"), use.over ? { color: "red", bold: true } : {}),
      chart,
    ]);
  }
  return lines;
}

/** One line for a device when there is no room for its block: DRAM and L1 use. */
export function deviceLine(device: DeviceSummary): Line {
  const dram = utilisation(device, "DRAM");
  const l1 = utilisation(device, "L1");
  const pct = (u: typeof dram) => (u.percent === undefined ? "-" : `${u.percent}%${u.over ? "!" : ""}`);
  return [
    seg(fit(`Device ${device.id}`, 10), { bold: true }),
    seg(fit(terminalSafe(device.name), 20)),
    seg(
      ` DRAM ${fit(pct(dram), 5, "right")}`,
      dram.percent !== undefined ? { color: usageColour(dram.percent, dram.over) } : {},
    ),
    seg(
      `  L1+CB ${fit(pct(l1), 5, "right")}`,
      l1.percent !== undefined ? { color: usageColour(l1.percent, l1.over) } : {},
    ),
    seg(`  ${device.allocations} allocations`, { color: "gray" }),
  ];
}
