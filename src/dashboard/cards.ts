// One card per device: per memory type a bar of the capacity with each process's bytes stacked in it,
// the peak marked, and the figures of /api/v1/summary as they are (raw bytes in data-bytes).
import type { ApiMemoryType, DeviceSummary, SummaryResponse } from "../server/api-types.js";
import { DeviceChart } from "./chart.js";
import { el } from "./dom.js";
import { formatBytes, processColour } from "./format.js";

interface Card {
  root: HTMLElement;
  head: HTMLElement;
  usage: HTMLElement;
  chart: DeviceChart;
}

export class DeviceCards {
  private readonly cards = new Map<number, Card>();

  constructor(
    private readonly container: HTMLElement,
    private readonly onSelect: (deviceId: number) => void,
  ) {}

  /** The chart of each device shown. */
  charts(): Map<number, DeviceChart> {
    return new Map([...this.cards].map(([id, card]) => [id, card.chart]));
  }

  render(summary: SummaryResponse, anomaliesByDevice: Map<number, number>, selected: number): void {
    const seen = new Set<number>();
    for (const device of summary.devices) {
      seen.add(device.id);
      const card = this.cards.get(device.id) ?? this.create(device.id);
      card.root.classList.toggle("selected", device.id === selected);
      card.head.replaceChildren(...heading(device, anomaliesByDevice.get(device.id) ?? 0));
      card.usage.replaceChildren(...usageRows(device, summary));
    }
    for (const [id, card] of this.cards) {
      if (seen.has(id)) continue;
      card.root.remove();
      this.cards.delete(id);
    }
  }

  private create(deviceId: number): Card {
    const head = el("h3");
    const usage = el("div", { class: "usage" });
    const chartBox = el("div", { class: "chart", "data-testid": "device-chart" });
    const root = el("article", { class: "card", "data-testid": "device-card", "data-device-id": deviceId });
    root.append(head, usage, chartBox);
    root.addEventListener("click", () => this.onSelect(deviceId));
    const ordered = [...this.cards.keys(), deviceId].sort((a, b) => a - b);
    const next = this.cards.get(ordered[ordered.indexOf(deviceId) + 1] ?? -1);
    this.container.insertBefore(root, next?.root ?? null);
    const card = { root, head, usage, chart: new DeviceChart(chartBox) };
    this.cards.set(deviceId, card);
    return card;
  }
}

function heading(device: DeviceSummary, anomalies: number): (Node | string)[] {
  const badge = el(
    "span",
    {
      class: anomalies > 0 ? "badge alert" : "badge",
      "data-testid": "anomalies-badge",
      "data-count": anomalies,
    },
    `${anomalies} anomal${anomalies === 1 ? "y" : "ies"}`,
  );
  const parts: (Node | string)[] = [
    `Device ${device.id}`,
    el("span", { class: "muted" }, `${device.name} · ${device.architecture}`),
    badge,
  ];
  // The server's live-allocation limits refused some allocations here: the numbers are lower bounds
  // until a snapshot makes them exact (a server older than the limits sends no flag).
  if (device.overLimit === true) {
    parts.push(
      el(
        "span",
        {
          class: "badge alert",
          "data-testid": "over-limit-badge",
          title:
            "The server's live-allocation limit refused allocations of a process on this device: " +
            "used bytes, counts and the map are lower bounds until its next snapshot.",
        },
        "over limit",
      ),
    );
  }
  return parts;
}

function usageRows(device: DeviceSummary, summary: SummaryResponse): HTMLElement[] {
  const rows: HTMLElement[] = [];
  for (const [type, usage] of Object.entries(device.memory) as [
    ApiMemoryType,
    DeviceSummary["memory"]["DRAM"],
  ][]) {
    if (usage.total === 0 && usage.used === 0 && usage.peak === 0) continue;
    const scale = Math.max(usage.total, usage.peak, usage.used, 1);
    const track = el("div", { class: "track", title: `${type}: ${formatBytes(usage.used)} used` });
    let left = 0;
    for (const process of summary.processes) {
      const bytes = process.devices.find((d) => d.id === device.id)?.used[type] ?? 0;
      if (bytes === 0) continue;
      const width = (bytes / scale) * 100;
      const fill = el("div", {
        class: "fill",
        title: `${process.name} (pid ${process.pid}): ${formatBytes(bytes)}`,
      });
      fill.style.left = `${left}%`;
      fill.style.width = `${width}%`;
      fill.style.background = processColour(process.pid);
      track.append(fill);
      left += width;
    }
    const peak = el("div", {
      class: "peak",
      "data-testid": "peak-marker",
      title: `peak ${formatBytes(usage.peak)}`,
    });
    peak.style.left = `calc(${(usage.peak / scale) * 100}% - 1px)`;
    track.append(peak);
    rows.push(
      el("span", {}, type),
      track,
      el(
        "span",
        { class: "figure" },
        figure("used", type, usage.used),
        " / ",
        figure("total", type, usage.total),
        " · peak ",
        figure("peak", type, usage.peak),
      ),
    );
  }
  return rows;
}

function figure(name: string, type: string, bytes: number): HTMLElement {
  return el("span", { "data-testid": name, "data-type": type, "data-bytes": bytes }, formatBytes(bytes));
}
