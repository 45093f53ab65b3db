// A device's time chart (uPlot) for one memory type: bytes used at the end of each second, and the
// second's max as a band above it, so that a burst freed within the second still shows.
import uPlot from "uplot";
import type { SeriesBucket } from "../server/api-types.js";
import { formatBytes, TYPE_COLOURS } from "./format.js";

/** What the chart draws, kept for tests (data, not pixels): seconds, and per second `last` and `max`. */
export interface ChartData {
  type: string;
  t: number[];
  used: number[];
  max: number[];
}

export class DeviceChart {
  private plot: uPlot | undefined;
  data: ChartData = { type: "", t: [], used: [], max: [] };

  constructor(private readonly container: HTMLElement) {}

  update(type: string, buckets: readonly SeriesBucket[]): void {
    this.data = {
      type,
      t: buckets.map((b) => b.t / 1000),
      used: buckets.map((b) => b.last),
      max: buckets.map((b) => b.max),
    };
    const aligned: uPlot.AlignedData = [this.data.t, this.data.max, this.data.used];
    if (this.plot !== undefined && this.plot.series[2]?.label === `${type} used`) {
      this.plot.setData(aligned);
      return;
    }
    this.plot?.destroy();
    this.plot = new uPlot(this.options(type), aligned, this.container);
  }

  private options(type: string): uPlot.Options {
    const colour = TYPE_COLOURS[type] ?? "#888888";
    return {
      width: Math.max(320, this.container.clientWidth || 480),
      height: 130,
      series: [
        {},
        { label: `${type} max`, stroke: colour, width: 0.5, dash: [3, 3], value: legendValue },
        { label: `${type} used`, stroke: colour, width: 1.5, value: legendValue },
      ],
      bands: [{ series: [1, 2], fill: `${colour}40` }],
      legend: { show: true, live: true },
      axes: [
        { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.2)" } },
        {
          stroke: "currentColor",
          size: 72,
          grid: { stroke: "rgba(128,128,128,0.2)" },
          values: (_u, ticks) => ticks.map((v) => formatBytes(v)),
        },
      ],
    };
  }
}

function legendValue(_u: uPlot, v: number | null): string {
  return v === null ? "–" : formatBytes(v);
}
