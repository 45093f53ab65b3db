import { collectDefaultMetrics, Registry } from "prom-client";
import { AnomalyKind } from "../anomaly-kind.js";
import { API_MEMORY_TYPES, type LegacyInfo, type MemoryUsage, type SummaryResponse } from "../api-types.js";
import { RecoveryKind } from "../recovery-kind.js";
import { CollectedMetric, type Sample, sample, unlabelled } from "./collected-metric.js";
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

/**
 * `/metrics`: the server's figures in Prometheus text format (docs/METRICS.md lists every metric). A
 * private prom-client Registry (with the Node process defaults) whose allocwatch metrics are computed
 * whole when scraped, from one summary per scrape shared by every metric of it, so that they agree with
 * each other and with /api/v1/summary. prom-client writes the text and escapes the label values.
 */
export class PrometheusMetrics {
  readonly registry = new Registry();
  /** The summary of the scrape in progress (the Registry collects every metric in one synchronous pass). */
  private scraped: SummaryResponse | undefined;
  /** Series the process limit left out of the scrape in progress. */
  private omittedSeries = 0;
  private readonly maxProcessSeries: number;

  constructor(
    private readonly sources: MetricsSources,
    options: MetricsOptions = {},
  ) {
    this.maxProcessSeries = options.maxProcessSeries ?? DEFAULT_MAX_PROCESS_SERIES;
    if (options.processDefaults !== false) collectDefaultMetrics({ register: this.registry });
    for (const metric of [...this.deviceMetrics(), ...this.processMetrics(), ...this.serverMetrics()]) {
      metric.registerIn(this.registry);
    }
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

  private deviceMetrics(): CollectedMetric[] {
    const perDevice = (name: string, help: string, pick: (u: MemoryUsage) => number) =>
      new CollectedMetric(name, help, "gauge", () => {
        const out: Sample[] = [];
        for (const device of this.summary().devices) {
          const id = String(device.id);
          for (const type of API_MEMORY_TYPES) {
            out.push(sample({ device: id, memory_type: type }, pick(device.memory[type])));
          }
        }
        return out;
      });
    return [
      perDevice(
        "allocwatch_device_memory_used_bytes",
        "Bytes held by live allocations of every process on the device, per memory type (as /api/v1/summary).",
        (u) => u.used,
      ),
      perDevice(
        "allocwatch_device_memory_total_bytes",
        "Capacity of the memory type on the device, bytes (0 when no client described the device).",
        (u) => u.total,
      ),
      perDevice(
        "allocwatch_device_memory_peak_bytes",
        "Highest used bytes of the memory type on the device since the server started.",
        (u) => u.peak,
      ),
      perDevice(
        "allocwatch_device_memory_leaked_bytes",
        "Bytes still held by tt-metal shared-memory slots of processes that exited (not in used).",
        (u) => u.leaked,
      ),
      perDevice(
        "allocwatch_allocations",
        "Live allocations on the device per memory type (per-buffer sources only).",
        (u) => u.allocations,
      ),
      new CollectedMetric(
        "allocwatch_device_largest_free_block_bytes",
        "Largest free block of the memory type's bank-local address space, bytes (what one bank can still " +
          "take in one piece). Computed off the scrape path, about a second behind (at most ~10 s); only " +
          "devices whose layout is known (exact memory map).",
        "gauge",
        () =>
          this.sources
            .largestFreeBlocks()
            .map((b) => sample({ device: String(b.deviceId), memory_type: b.memoryType }, b.bytes)),
      ),
    ];
  }

  private processMetrics(): CollectedMetric[] {
    return [
      new CollectedMetric(
        "allocwatch_process_memory_used_bytes",
        "Bytes held by one process on the device, per memory type; the series go when the process's " +
          "session ends. At most the server's limit of series (the fewest bytes left out).",
        "gauge",
        () => {
          const { series, omittedSeries } = processSeries(this.summary().processes, this.maxProcessSeries);
          this.omittedSeries = omittedSeries;
          const out: Sample[] = [];
          for (const s of series) {
            const device = String(s.deviceId);
            const pid = String(s.pid);
            for (const type of API_MEMORY_TYPES) {
              out.push(sample({ device, memory_type: type, pid, process: s.name }, s.used[type]));
            }
          }
          return out;
        },
      ),
      // After the process metric: the Registry collects in registration order.
      new CollectedMetric(
        "allocwatch_process_series_omitted",
        "allocwatch_process_memory_used_bytes series left out of this scrape by the series limit.",
        "gauge",
        () => [unlabelled(this.omittedSeries)],
      ),
    ];
  }

  private serverMetrics(): CollectedMetric[] {
    const one = (
      name: string,
      help: string,
      type: "gauge" | "counter",
      pick: (s: SummaryResponse) => number,
    ) => new CollectedMetric(name, help, type, () => [unlabelled(pick(this.summary()))]);
    const byKind = (
      name: string,
      help: string,
      kinds: readonly string[],
      pick: (s: SummaryResponse) => Record<string, number>,
    ) =>
      new CollectedMetric(name, help, "counter", () => {
        const counts = pick(this.summary());
        // Every kind from the start (0 until seen), so that rate() has a series before the first one.
        const out = kinds.map((kind) => sample({ kind }, counts[kind] ?? 0));
        for (const kind of Object.keys(counts)) {
          if (!kinds.includes(kind)) out.push(sample({ kind }, counts[kind]!));
        }
        return out;
      });
    return [
      one(
        "allocwatch_events_total",
        "Alloc and free events applied to the live state since the server started.",
        "counter",
        (s) => s.server.eventsApplied,
      ),
      byKind(
        "allocwatch_anomalies_total",
        "Anomalies in clients' reports since the server started, by kind (docs/API.md).",
        Object.values(AnomalyKind),
        (s) => s.anomalies.byKind,
      ),
      byKind(
        "allocwatch_recoveries_total",
        "Transport recoveries (resyncs, gaps) since the server started, by kind; never mean wrong data.",
        Object.values(RecoveryKind),
        (s) => s.recoveries.byKind,
      ),
      one(
        "allocwatch_client_dropped_events_total",
        "Events clients dropped (full queue, no server, lost connection) that snapshots stood in for.",
        "counter",
        (s) => s.server.clientDroppedEvents,
      ),
      one(
        "allocwatch_sessions",
        "Live client sessions (connected or in their reconnect grace).",
        "gauge",
        (s) => s.server.sessions,
      ),
      one("allocwatch_connections", "Open client connections.", "gauge", (s) => s.server.connections),
      one(
        "allocwatch_allocations_refused_total",
        "Allocations (ALLOCs, snapshot entries) not stored because of the live-allocation limits since start.",
        "counter",
        (s) => s.server.allocationsRefused,
      ),
      one(
        "allocwatch_frees_excused_total",
        "FREEs of unknown ids not counted as UNKNOWN_FREE because their process and device were over a limit.",
        "counter",
        (s) => s.server.freesExcused,
      ),
      one(
        "allocwatch_over_limit",
        "(process, device) pairs over a live-allocation limit now: their figures are lower bounds.",
        "gauge",
        (s) => s.server.overLimit,
      ),
      one(
        "allocwatch_live_allocations",
        "Live allocations the daemon holds, every process and device (limit: allocwatch_live_allocations_limit).",
        "gauge",
        (s) => s.server.liveAllocations,
      ),
      one(
        "allocwatch_live_allocations_limit",
        "The daemon-wide limit on live allocations (serve --max-live-allocations).",
        "gauge",
        (s) => s.server.maxLiveAllocations,
      ),
      ...this.legacyMetrics(),
    ];
  }

  /** The legacy adapter's figures; no samples when the server does not run it. */
  private legacyMetrics(): CollectedMetric[] {
    const legacy = (pick: (l: LegacyInfo) => Sample[]) => () => {
      const info = this.summary().server.legacy;
      return info === undefined ? [] : pick(info);
    };
    return [
      new CollectedMetric(
        "allocwatch_legacy_connections",
        "Open connections of the legacy adapter (tt-metal's original protocol).",
        "gauge",
        legacy((l) => [unlabelled(l.connections)]),
      ),
      new CollectedMetric(
        "allocwatch_legacy_connections_closed_total",
        "Legacy connections the server closed, by reason: refused (--legacy-max-connections open), budget (unsent replies).",
        "counter",
        legacy((l) => [
          sample({ reason: "refused" }, l.refusedConnections),
          sample({ reason: "budget" }, l.budgetClosures),
        ]),
      ),
      new CollectedMetric(
        "allocwatch_legacy_quarantines_total",
        "Times a legacy connection lost the frame grid and skipped bytes to a plausible frame.",
        "counter",
        legacy((l) => [unlabelled(l.quarantines)]),
      ),
      new CollectedMetric(
        "allocwatch_legacy_frames_total",
        "Legacy ALLOC/FREE frames by outcome (docs/METRICS.md).",
        "counter",
        legacy((l) => [
          sample({ outcome: "allocated" }, l.allocations),
          sample({ outcome: "shared_allocation" }, l.sharedAllocations),
          sample({ outcome: "freed" }, l.frees),
          sample({ outcome: "shared_free" }, l.sharedFrees),
          sample({ outcome: "unknown_free" }, l.unknownFrees),
          sample({ outcome: "held_free" }, l.heldFrees),
          sample({ outcome: "reordered_free" }, l.reorderedFrees),
        ]),
      ),
    ];
  }
}
