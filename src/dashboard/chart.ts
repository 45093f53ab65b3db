// A device's time chart (uPlot): per memory type in use, bytes used at the end of each second and the
// second's max as a band above it, so that a burst freed within the second still shows.
import uPlot from "uplot";
import type { SeriesBucket } from "../server/api-types.js";
import { formatBytes, TYPE_COLOURS } from "./format.js";

/** What the chart draws, kept for tests (data, not pixels): x in seconds, per type `last` and `max`. */
export interface ChartData {
  t: number[];
  types: { type: string; used: (number | null)[]; max: (number | null)[] }[];
}

export class DeviceChart {
  private plot: uPlot | undefined;
  private shownTypes = "";
  data: ChartData = { t: [], types: [] };

  constructor(private readonly container: HTMLElement) {}

  update(byType: Map<string, SeriesBucket[]>): void {
    const active = [...byType.entries()].filter(([, buckets]) => buckets.some((b) => b.max > 0));
    const seconds = new Set<number>();
    for (const [, buckets] of active) for (const b of buckets) seconds.add(b.t);
    const t = [...seconds].sort((a, b) => a - b);
    const index = new Map(t.map((ms, i) => [ms, i]));
    const types = active.map(([type, buckets]) => {
      const used: (number | null)[] = t.map(() => null);
      const max: (number | null)[] = t.map(() => null);
      for (const b of buckets) {
        const i = index.get(b.t)!;
        used[i] = b.last;
        max[i] = b.max;
      }
      return { type, used, max };
    });
    this.data = { t: t.map((ms) => ms / 1000), types };
    const aligned: uPlot.AlignedData = [this.data.t, ...types.flatMap((s) => [s.max, s.used])];
    const key = types.map((s) => s.type).join(",");
    if (this.plot !== undefined && key === this.shownTypes) {
      this.plot.setData(aligned);
      return;
    }
    this.plot?.destroy();
    this.shownTypes = key;
    this.plot = new uPlot(this.options(types.map((s) => s.type)), aligned, this.container);
  }

  private options(types: string[]): uPlot.Options {
    const series: uPlot.Series[] = [{}];
    const bands: uPlot.Band[] = [];
    types.forEach((type, i) => {
      const colour = TYPE_COLOURS[type] ?? "#888";
      series.push({ label: `${type} max`, stroke: colour, width: 0.5, dash: [3, 3], value: legendValue });
      series.push({ label: `${type} used`, stroke: colour, width: 1.5, value: legendValue });
      bands.push({ series: [1 + 2 * i, 2 + 2 * i], fill: `${colour}33` });
    });
    return {
      width: Math.max(320, this.container.clientWidth || 360),
      height: 140,
      series,
      bands,
      legend: { show: types.length > 0 },
      axes: [
        { stroke: "currentColor", grid: { stroke: "rgba(128,128,128,0.2)" } },
        {
          stroke: "currentColor",
          size: 70,
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
