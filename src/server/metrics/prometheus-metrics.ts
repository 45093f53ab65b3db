import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { AnomalyKind } from "../anomaly-kind.js";
import { API_MEMORY_TYPES, type SummaryResponse } from "../api-types.js";
import { RecoveryKind } from "../recovery-kind.js";
import type { LargestFreeBlock } from "./largest-free-blocks.js";
import { processSeries } from "./process-series.js";

/**
 * Most `allocwatch_process_memory_used_bytes` series one scrape answers. The server's session limit
 * bounds them already (sessions × devices per session × 7 types); this keeps a scrape small even at that
 * limit. Past it the (process, device) pairs holding the fewest bytes are left out, and
 * `allocwatch_process_series_omitted` says how many series were.
 */
export const DEFAULT_MAX_PROCESS_SERIES = 10_000;

export interface MetricsSources {
  /** The same answer as GET /api/v1/summary (never walks allocations). */
  summary(): SummaryResponse;
  /** Largest free blocks as last computed off the scrape path (LargestFreeBlocks.current). */
  largestFreeBlocks(): readonly LargestFreeBlock[];
}

export interface MetricsOptions {
  /** Default DEFAULT_MAX_PROCESS_SERIES. */
  maxProcessSeries?: number;
  /** Node process defaults (`process_*`, `nodejs_*`); default true. */
  processDefaults?: boolean;
}

const DEVICE_LABELS = ["device", "memory_type"] as const;

/**
 * `/metrics`: the server's figures in Prometheus text format (docs/METRICS.md lists every metric). A
 * private prom-client Registry whose metrics read the current figures when scraped: one summary per
 * scrape, shared by every metric of it, so that they agree with each other and with /api/v1/summary.
 */
export class PrometheusMetrics {
  readonly registry = new Registry();
  /** The summary of the scrape in progress (prom-client runs every collect() in one synchronous pass). */
  private scraped: SummaryResponse | undefined;
  private readonly maxProcessSeries: number;

  constructor(
    private readonly sources: MetricsSources,
    options: MetricsOptions = {},
  ) {
    this.maxProcessSeries = options.maxProcessSeries ?? DEFAULT_MAX_PROCESS_SERIES;
    if (options.processDefaults !== false) collectDefaultMetrics({ register: this.registry });
    this.defineDeviceMetrics();
    this.defineProcessMetrics();
    this.defineServerMetrics();
  }

  /** The Content-Type of `render()`'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text of one scrape. */
  async render(): Promise<string> {
    const summary = this.sources.summary();
    this.scraped = summary;
    try {
      return await this.registry.metrics();
    } finally {
      // A scrape that overlapped this one may have set its own.
      if (this.scraped === summary) this.scraped = undefined;
    }
  }

  private summary(): SummaryResponse {
    return this.scraped ?? this.sources.summary();
  }

  private defineDeviceMetrics(): void {
    const self = this;
    const perDevice = (name: string, help: string, pick: (u: DeviceMemory) => number) =>
      new Gauge({
        name,
        help,
        labelNames: DEVICE_LABELS,
        registers: [this.registry],
        collect() {
          this.reset();
          for (const device of self.summary().devices) {
            const id = String(device.id);
            for (const type of API_MEMORY_TYPES) {
              this.set({ device: id, memory_type: type }, pick(device.memory[type]));
            }
          }
        },
      });
    perDevice(
      "allocwatch_device_memory_used_bytes",
      "Bytes held by live allocations of every process on the device, per memory type (as /api/v1/summary).",
      (u) => u.used,
    );
    perDevice(
      "allocwatch_device_memory_total_bytes",
      "Capacity of the memory type on the device, bytes (0 when no client described the device).",
      (u) => u.total,
    );
    perDevice(
      "allocwatch_device_memory_peak_bytes",
      "Highest used bytes of the memory type on the device since the server started.",
      (u) => u.peak,
    );
    perDevice(
      "allocwatch_device_memory_leaked_bytes",
      "Bytes still held by tt-metal shared-memory slots of processes that exited (not in used).",
      (u) => u.leaked,
    );
    perDevice(
      "allocwatch_allocations",
      "Live allocations on the device per memory type (per-buffer sources only).",
      (u) => u.allocations,
    );
    new Gauge({
      name: "allocwatch_device_largest_free_block_bytes",
      help:
        "Largest free block of the memory type's bank-local address space, bytes (what one bank can still " +
        "take in one piece). Computed off the scrape path, about a second behind (at most ~10 s); only " +
        "devices whose layout is known (exact memory map).",
      labelNames: DEVICE_LABELS,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const block of self.sources.largestFreeBlocks()) {
          this.set({ device: String(block.deviceId), memory_type: block.memoryType }, block.bytes);
        }
      },
    });
  }

  private defineProcessMetrics(): void {
    const self = this;
    let omitted = 0;
    new Gauge({
      name: "allocwatch_process_memory_used_bytes",
      help:
        "Bytes held by one process on the device, per memory type; the series go when the process's " +
        "session ends. At most the server's limit of series (the fewest bytes left out).",
      labelNames: ["device", "memory_type", "pid", "process"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        const { series, omittedSeries } = processSeries(self.summary().processes, self.maxProcessSeries);
        omitted = omittedSeries;
        for (const s of series) {
          const device = String(s.deviceId);
          const pid = String(s.pid);
          for (const type of API_MEMORY_TYPES) {
            this.set({ device, memory_type: type, pid, process: s.name }, s.used[type]);
          }
        }
      },
    });
    new Gauge({
      name: "allocwatch_process_series_omitted",
      help: "allocwatch_process_memory_used_bytes series left out of this scrape by the series limit.",
      registers: [this.registry],
      collect() {
        // Registered after the process gauge: prom-client collects in registration order.
        this.set(omitted);
      },
    });
  }

  private defineServerMetrics(): void {
    const self = this;
    const total = (name: string, help: string, pick: (s: SummaryResponse) => number) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(pick(self.summary()));
        },
      });
    total(
      "allocwatch_events_total",
      "Alloc and free events applied to the live state since the server started.",
      (s) => s.server.eventsApplied,
    );
    total(
      "allocwatch_client_dropped_events_total",
      "Events clients dropped (full queue, no server, lost connection) that snapshots stood in for.",
      (s) => s.server.clientDroppedEvents,
    );
    const byKind = (
      name: string,
      help: string,
      kinds: readonly string[],
      pick: (s: SummaryResponse) => Record<string, number>,
    ) =>
      new Counter({
        name,
        help,
        labelNames: ["kind"] as const,
        registers: [this.registry],
        collect() {
          this.reset();
          const counts = pick(self.summary());
          // Every kind from the start (0 until seen), so that rate() has a series before the first one.
          for (const kind of kinds) this.inc({ kind }, counts[kind] ?? 0);
          for (const kind of Object.keys(counts))
            if (!kinds.includes(kind)) this.inc({ kind }, counts[kind]!);
        },
      });
    byKind(
      "allocwatch_anomalies_total",
      "Anomalies in clients' reports since the server started, by kind (docs/API.md).",
      Object.values(AnomalyKind),
      (s) => s.anomalies.byKind,
    );
    byKind(
      "allocwatch_recoveries_total",
      "Transport recoveries (resyncs, gaps) since the server started, by kind; never mean wrong data.",
      Object.values(RecoveryKind),
      (s) => s.recoveries.byKind,
    );
    const gauge = (name: string, help: string, pick: (s: SummaryResponse) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(pick(self.summary()));
        },
      });
    gauge(
      "allocwatch_sessions",
      "Live client sessions (connected or in their reconnect grace).",
      (s) => s.server.sessions,
    );
    gauge("allocwatch_connections", "Open client connections.", (s) => s.server.connections);
  }
}

type DeviceMemory = SummaryResponse["devices"][number]["memory"]["DRAM"];
