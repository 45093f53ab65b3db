// The processes table (sortable, a sparkline of each one's bytes on the selected device) and the
// device's largest and oldest buffers with their owners.
import type { AllocationView, ProcessSummary, SeriesBucket, SummaryResponse } from "../server/api-types.js";
import { el, svg } from "./dom.js";
import { formatAddress, formatAge, formatBytes, processColour } from "./format.js";

type SortKey = "pid" | "name" | "state" | "bytes" | "allocations";

const SPARK_SECONDS = 60;

export class ProcessTable {
  private sortKey: SortKey = "bytes";
  private descending = true;
  private last: (() => void) | undefined;

  constructor(private readonly table: HTMLTableElement) {
    for (const th of table.querySelectorAll<HTMLElement>("th[data-sort]")) {
      th.addEventListener("click", () => {
        const key = th.dataset["sort"] as SortKey;
        this.descending = key === this.sortKey ? !this.descending : key === "bytes" || key === "allocations";
        this.sortKey = key;
        this.last?.();
      });
    }
  }

  render(
    summary: SummaryResponse,
    deviceId: number,
    seriesOf: (process: ProcessSummary) => Map<string, SeriesBucket[]>,
  ): void {
    this.last = () => this.render(summary, deviceId, seriesOf);
    const rows = summary.processes.map((p) => {
      const usage = p.devices.find((d) => d.id === deviceId);
      const bytes = usage === undefined ? 0 : Object.values(usage.used).reduce((a, b) => a + b, 0);
      return { p, bytes, allocations: usage?.allocations ?? 0 };
    });
    const key = this.sortKey;
    const value = (r: (typeof rows)[number]): number | string =>
      key === "bytes" ? r.bytes : key === "allocations" ? r.allocations : r.p[key];
    rows.sort((a, b) => {
      const [x, y] = [value(a), value(b)];
      const order = x < y ? -1 : x > y ? 1 : 0;
      return this.descending ? -order : order;
    });
    this.table.tBodies[0]!.replaceChildren(
      ...rows.map((r) =>
        el(
          "tr",
          { "data-testid": "process-row", "data-pid": r.p.pid },
          el("td", {}, String(r.p.pid)),
          el("td", {}, swatch(r.p.pid), r.p.name),
          el("td", {}, r.p.state),
          el("td", { class: "figure", "data-bytes": r.bytes }, formatBytes(r.bytes)),
          el("td", { class: "figure" }, String(r.allocations)),
          el("td", {}, sparkline(seriesOf(r.p), processColour(r.p.pid))),
        ),
      ),
    );
  }
}

function swatch(pid: number): HTMLElement {
  const box = el("span", { "aria-hidden": "true" }, "■ ");
  box.style.color = processColour(pid);
  return box;
}

/**
 * The process's bytes (all types) at the end of each of the last 60 seconds. A second without a bucket
 * changed nothing: it keeps the value of the one before.
 */
function sparkline(byType: Map<string, SeriesBucket[]>, colour: string): SVGSVGElement {
  const now = Math.floor(Date.now() / 1000) * 1000;
  const values = new Array<number>(SPARK_SECONDS).fill(0);
  for (const buckets of byType.values()) {
    let held = 0;
    let next = 0;
    for (let i = 0; i < SPARK_SECONDS; i++) {
      const second = now - (SPARK_SECONDS - 1 - i) * 1000;
      while (next < buckets.length && buckets[next]!.t <= second) held = buckets[next++]!.last;
      values[i]! += held;
    }
  }
  const top = Math.max(1, ...values);
  const points = values.map((v, i) => `${i * 2},${20 - (v / top) * 18}`).join(" ");
  const drawing = svg("svg", { width: 120, height: 20, viewBox: "0 0 120 20", "data-testid": "sparkline" });
  drawing.append(svg("polyline", { points, fill: "none", stroke: colour, "stroke-width": 1.5 }));
  return drawing;
}

/** A list of buffers with their owner. */
export function renderBuffers(list: HTMLElement, buffers: AllocationView[], summary: SummaryResponse): void {
  const names = new Map(summary.processes.map((p) => [p.sessionId, p.name]));
  list.replaceChildren(
    ...buffers.map((b) =>
      el(
        "li",
        {
          "data-testid": "buffer",
          "data-pid": b.pid,
          "data-bytes": b.sizeBytes,
          "data-context": b.context ?? "",
        },
        `${formatBytes(b.sizeBytes)} ${b.memoryType} at ${formatAddress(b.address)} · ` +
          `${names.get(b.sessionId) ?? "?"} (pid ${b.pid}) · ${formatAge(b.ageMs)}` +
          // What it is for (the operation its client named), when it named one.
          (b.context ? ` · ${b.context}` : ""),
      ),
    ),
  );
}
