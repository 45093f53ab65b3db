// The memory map of one device × memory type: the bank-local address space left to right, one colour
// per process, the largest free block outlined. Hover shows a buffer's owner, size, address and age;
// a click keeps its details below the map. When the server cannot place buffers (`exact: false`) the
// map is replaced by its reason.
import type { MemoryMapExtent, MemoryMapResponse } from "../server/api-types.js";
import { el, svg } from "./dom.js";
import { formatAddress, formatAge, formatBytes, processColour } from "./format.js";

const WIDTH = 1000;
const HEIGHT = 100;

export class MemoryMapView {
  constructor(
    private readonly container: HTMLElement,
    private readonly stats: HTMLElement,
    private readonly tooltip: HTMLElement,
    private readonly details: HTMLElement,
  ) {}

  render(map: MemoryMapResponse | undefined, unavailable: string): void {
    this.tooltip.hidden = true;
    if (map === undefined) {
      this.container.replaceChildren(
        el("div", { class: "reason", "data-testid": "map-reason" }, unavailable),
      );
      this.stats.replaceChildren();
      return;
    }
    if (!map.exact) {
      const reason = map.reason ?? "the server cannot place this memory's buffers in a bank";
      this.container.replaceChildren(el("div", { class: "reason", "data-testid": "map-reason" }, reason));
      this.stats.replaceChildren(this.summaryLine(map, false));
      return;
    }
    const span = Math.max(1, map.regionEnd - map.regionStart);
    const x = (address: number) => ((address - map.regionStart) / span) * WIDTH;
    const w = (bytes: number) => Math.max(0.4, (bytes / span) * WIDTH);
    const drawing = svg("svg", {
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      preserveAspectRatio: "none",
      role: "img",
    });
    for (const bucket of map.buckets) {
      if (bucket.occupiedBytes === 0) continue;
      drawing.append(
        svg("rect", {
          x: x(bucket.address),
          y: 0,
          width: w(bucket.sizeBytes),
          height: HEIGHT,
          fill: processColour(bucket.dominantPid),
          "fill-opacity": Math.max(0.2, bucket.occupiedBytes / bucket.sizeBytes),
          "data-testid": "map-bucket",
        }),
      );
    }
    for (const extent of map.extents) {
      const rect = svg("rect", {
        x: x(extent.address),
        y: 4,
        width: w(extent.bankBytes),
        height: HEIGHT - 8,
        fill: processColour(extent.pid),
        "data-testid": "map-extent",
        "data-pid": extent.pid,
        "data-address": extent.address,
      });
      rect.addEventListener("mousemove", (event) => this.hover(extent, event));
      rect.addEventListener("mouseleave", () => {
        this.tooltip.hidden = true;
      });
      rect.addEventListener("click", () => this.select(extent));
      drawing.append(rect);
    }
    const largest = map.free.find((f) => f.sizeBytes === map.largestFreeBlock);
    if (largest !== undefined && largest.sizeBytes > 0) {
      drawing.append(
        svg("rect", {
          x: x(largest.address),
          y: 1,
          width: w(largest.sizeBytes),
          height: HEIGHT - 2,
          fill: "none",
          stroke: "currentColor",
          "stroke-width": 2,
          "stroke-dasharray": "6 3",
          "vector-effect": "non-scaling-stroke",
          "data-testid": "largest-free-outline",
        }),
      );
    }
    this.container.replaceChildren(drawing);
    this.stats.replaceChildren(this.summaryLine(map, true));
  }

  private summaryLine(map: MemoryMapResponse, exact: boolean): HTMLElement {
    const parts: (Node | string)[] = [
      `${map.allocations} buffers · region ${formatAddress(map.regionStart)}–${formatAddress(map.regionEnd)} × ${map.bankCount} banks`,
    ];
    if (exact) {
      parts.push(
        " · free ",
        el("span", { "data-testid": "free-bytes", "data-bytes": map.freeBytes }, formatBytes(map.freeBytes)),
        " · largest free block ",
        el(
          "span",
          { "data-testid": "largest-free-block", "data-bytes": map.largestFreeBlock },
          formatBytes(map.largestFreeBlock),
        ),
        " · fragmentation ",
        el(
          "span",
          { "data-testid": "fragmentation", "data-value": map.fragmentation },
          `${(map.fragmentation * 100).toFixed(1)}%`,
        ),
      );
    }
    return el("span", {}, ...parts);
  }

  private hover(extent: MemoryMapExtent, event: MouseEvent): void {
    this.tooltip.textContent = describe(extent);
    this.tooltip.dataset["pid"] = String(extent.pid);
    this.tooltip.hidden = false;
    // Beside the pointer, on whichever side keeps it inside the window.
    const { offsetWidth: width, offsetHeight: height } = this.tooltip;
    const left = event.clientX + 12 + width > innerWidth ? event.clientX - 12 - width : event.clientX + 12;
    const top = event.clientY + 12 + height > innerHeight ? event.clientY - 12 - height : event.clientY + 12;
    this.tooltip.style.left = `${Math.max(0, left)}px`;
    this.tooltip.style.top = `${Math.max(0, top)}px`;
  }

  private select(extent: MemoryMapExtent): void {
    this.details.textContent =
      `${describe(extent)}\nsession ${extent.sessionId} · allocation ${extent.allocationId}` +
      ` · ${formatBytes(extent.bankBytes)} per bank`;
    this.details.dataset["allocationId"] = String(extent.allocationId);
    this.details.hidden = false;
  }
}

function describe(extent: MemoryMapExtent): string {
  return (
    `${extent.processName} (pid ${extent.pid})\n` +
    `${formatBytes(extent.sizeBytes)} at ${formatAddress(extent.address)} · age ${formatAge(extent.ageMs)}`
  );
}
