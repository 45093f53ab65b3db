import { MEMORY_TYPE_COUNT } from "../protocol/memory-type.js";
import type { AnomalyLog } from "./anomaly-log.js";
import {
  type AllocationSort,
  type AllocationsResponse,
  type AllocationView,
  type AnomaliesResponse,
  API_MEMORY_TYPES,
  type ApiMemoryType,
  type DeviceSummary,
  type HistoryResponse,
  type LeaksResponse,
  type LegacyInfo,
  type MemoryMapResponse,
  type MemoryMapType,
  type MemoryUsage,
  type ProcessSummary,
  type SeriesResponse,
  type SummaryResponse,
} from "./api-types.js";
import type { ConnectionCounters } from "./connection.js";
import type { DeviceCatalog } from "./device-catalog.js";
import type { HistoryRequest } from "./history/history-request.js";
import type { HistoryStore } from "./history/history-store.js";
import type { HostDevices } from "./host-devices.js";
import type { LeakArchive } from "./leaks/leak-archive.js";
import { LiveSlotCursor } from "./live-slot-cursor.js";
import type { MemoryMapRequest } from "./memory-map/memory-map.js";
import { MemoryMapQuery } from "./memory-map/memory-map-query.js";
import type { DeviceTotals, Ledger, Registry } from "./registry.js";
import { SelectionHeap } from "./selection-heap.js";
import type { SequencerCounters } from "./sequencer.js";
import { emptySeriesByType, secondAtOrAfter, seriesResponse } from "./series/series-view.js";
import { SERIES_BUCKET_MS, SERIES_WINDOW_MS, type UsageSeries } from "./series/usage-series.js";
import type { SessionView } from "./session.js";
import type { SessionTable } from "./session-table.js";
import { NO_SLOT } from "./slot-index.js";
import type { TimerScheduler } from "./timers.js";

/**
 * The totals the summary reads: a Registry, or the main thread's ShardMirror of every ingest shard
 * (shards/shard-mirror.ts).
 */
export interface RegistryTotals {
  devices(): Iterable<DeviceTotals>;
  findDevice(deviceId: number): DeviceTotals | undefined;
  readonly eventsApplied: number;
  readonly liveAllocations: number;
  readonly limit: {
    readonly maxLive: number;
    readonly maxLivePerSession: number;
    readonly refused: number;
    readonly excusedFrees: number;
    readonly markedCount: number;
  };
}

/** The sessions the summary lists: a SessionTable, or the ShardMirror. */
export interface SessionList {
  values(): Iterable<SessionView>;
  readonly size: number;
}

/**
 * What needs single allocations: the allocation lists and the memory maps. One registry answers them
 * (RegistryAllocations), or every ingest shard's together (shards/shard-allocations.ts).
 */
export interface AllocationQueries {
  /** `listAllocations` of the device (`sessionId`: of that session only). */
  list(
    deviceId: number,
    sort: AllocationSort,
    limit: number,
    sessionId: string | undefined,
    nowMs: number,
  ): { total: number; allocations: AllocationView[] };
  memoryMap(request: MemoryMapRequest): MemoryMapResponse;
}

export interface QuerySources {
  registry: RegistryTotals;
  catalog: DeviceCatalog;
  sessions: SessionList;
  /** Answers what needs single allocations. */
  allocationQueries: AllocationQueries;
  anomalies: AnomalyLog;
  sequencerCounters: SequencerCounters;
  connectionCounters: ConnectionCounters;
  reorderBudget: { readonly usedBytes: number; readonly limitBytes: number };
  timers: TimerScheduler;
  version: string;
  socketPath: string;
  startedAtMs: number;
  /** The host's cards and tt-metal shared-memory regions, merged into the summary when given. */
  host?: HostDevices;
  /** Device ids the server's configuration describes (`--legacy-device`): source "configured". */
  configuredDeviceIds?: ReadonlySet<number>;
  /** Used bytes over time (1-s buckets); absent: the series route answers empty series. */
  series?: UsageSeries;
  /** Leak reports of sessions that ended holding allocations; absent: the leaks route answers none. */
  leakArchive?: LeakArchive;
  /** The history database; absent: `/api/v1/history` answers 404. */
  history?: HistoryStore;
  /** The wall clock, ms since the epoch (history ranges default to "up to now"). Default Date.now. */
  epochMs?: () => number;
  /** Ingest threads (shards) the server runs; default 1 (the main thread). */
  ingestThreads?: number;
  /** The legacy adapter's figures, when the server runs it (the summary's `server.legacy`). */
  legacy?: () => LegacyInfo;
}

/**
 * Builds the API's answers from the incrementally maintained totals (docs/DESIGN.md invariant 6): the summary
 * costs O(devices × types + sessions × devices), whatever the number of live allocations.
 */
export class ServerQueries {
  constructor(private readonly sources: QuerySources) {}

  /** The summary's entry of a device (RegistryAllocations' hostSummaryOf, with host sources). */
  deviceSummary(deviceId: number): DeviceSummary | undefined {
    return this.summary().devices.find((d) => d.id === deviceId);
  }

  /** The wall clock now, ms since the epoch. */
  epochMs(): number {
    return (this.sources.epochMs ?? Date.now)();
  }

  /** `GET /api/v1/history` for a checked request; undefined when the server keeps no history. */
  history(request: HistoryRequest): HistoryResponse | undefined {
    const store = this.sources.history;
    if (store === undefined || store.isClosed) return undefined;
    return store.history(request);
  }

  summary(): SummaryResponse {
    const { registry, catalog, sessions, anomalies, sequencerCounters } = this.sources;
    const ids = new Set<number>(catalog.ids());
    for (const device of registry.devices()) ids.add(device.deviceId);
    const devices: DeviceSummary[] = [];
    for (const id of [...ids].sort((a, b) => a - b)) {
      const descriptor = catalog.get(id);
      const totals = registry.findDevice(id);
      const memory = {} as Record<ApiMemoryType, MemoryUsage>;
      for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
        memory[API_MEMORY_TYPES[t]] = {
          used: totals?.usedBytes[t] ?? 0,
          total: descriptor?.capacityBytes[t] ?? 0,
          peak: totals?.peakBytes[t] ?? 0,
          allocations: totals?.allocations[t] ?? 0,
          leaked: 0,
        };
      }
      const configured = this.sources.configuredDeviceIds?.has(id) === true;
      devices.push({
        id,
        name: descriptor?.name ?? "unknown",
        architecture: descriptor?.architecture ?? "unknown",
        memory,
        allocations: totals?.liveAllocations ?? 0,
        overLimit: totals !== undefined && anyOverLimit(totals.ledgers),
        sources:
          configured && totals === undefined
            ? ["configured"]
            : configured
              ? ["configured", "reported"]
              : ["reported"],
        holders: [],
      });
    }

    const processes: ProcessSummary[] = [];
    for (const session of sessions.values()) {
      const deviceIds = [...session.account.ledgers.keys()].sort((a, b) => a - b);
      processes.push({
        pid: session.pid,
        name: session.identity.processName,
        sessionId: session.sessionId,
        state: session.state,
        connections: session.connectionCount,
        source: session.identity.source,
        devices: deviceIds.map((id) => {
          const ledger = session.account.ledgers.get(id)!;
          const used = {} as Record<ApiMemoryType, number>;
          for (let t = 0; t < MEMORY_TYPE_COUNT; t++) used[API_MEMORY_TYPES[t]] = ledger.usedBytes[t];
          return {
            id,
            used,
            allocations: ledger.liveAllocations,
            overLimit: ledger.overLimit,
            refusedAllocations: ledger.refusedAllocations,
          };
        }),
      });
    }
    processes.sort((a, b) => a.pid - b.pid || a.sessionId.localeCompare(b.sessionId));
    this.sources.host?.extend(devices, processes);

    return {
      devices,
      processes,
      anomalies: { total: anomalies.total, byKind: anomalies.byKind() },
      recoveries: {
        total: sequencerCounters.recoveries.total,
        byKind: sequencerCounters.recoveries.byKind(),
      },
      server: this.serverInfo(),
    };
  }

  /** undefined when the device is unknown. */
  allocations(
    deviceId: number,
    sort: AllocationSort,
    limit: number,
    sessionId: string | undefined,
  ): AllocationsResponse | undefined {
    if (!this.knowsDevice(deviceId)) return undefined;
    const { total, allocations } = this.sources.allocationQueries.list(
      deviceId,
      sort,
      limit,
      sessionId,
      this.sources.timers.nowMs(),
    );
    return { deviceId, sort, limit, total, allocations };
  }

  /**
   * Used bytes of the device and of each session on it, in 1-s buckets with `t >= sinceMs` (0: the
   * whole window); undefined when the device is unknown.
   */
  series(deviceId: number, sinceMs: number): SeriesResponse | undefined {
    if (!this.knowsDevice(deviceId)) return undefined;
    const { registry, series } = this.sources;
    let response: SeriesResponse = {
      bucketMs: SERIES_BUCKET_MS,
      windowMs: SERIES_WINDOW_MS,
      devices: [],
      processes: [],
    };
    if (series !== undefined) {
      series.catchUp();
      response = seriesResponse(registry, series.clock, {
        deviceId,
        changedOnly: false,
        sinceSecond: secondAtOrAfter(sinceMs),
      });
    }
    // A device known only from a descriptor or the host has no figure yet: nothing used so far.
    if (response.devices.length === 0) response.devices.push({ id: deviceId, used: emptySeriesByType() });
    return response;
  }

  /** Whether any source names the device (the registry, a descriptor, the host). */
  knowsDevice(deviceId: number): boolean {
    const { registry, catalog, host } = this.sources;
    return (
      registry.findDevice(deviceId) !== undefined ||
      catalog.get(deviceId) !== undefined ||
      host?.discoveredDevices().some((d) => d.deviceId === deviceId) === true
    );
  }

  /** The live memory map (memory-map/); undefined when the device is unknown. */
  memoryMap(deviceId: number, memoryType: MemoryMapType, buckets: number): MemoryMapResponse | undefined {
    if (!this.knowsDevice(deviceId)) return undefined;
    return this.sources.allocationQueries.memoryMap({
      deviceId,
      memoryType,
      buckets,
      nowMs: this.sources.timers.nowMs(),
    });
  }

  /** The newest leak reports (of `pid` only, when given), at most `limit`. */
  leaks(pid: number | undefined, limit: number): LeaksResponse {
    const archive = this.sources.leakArchive;
    if (archive === undefined) return { reports: [] };
    return { reports: archive.list(pid === undefined ? { limit } : { pid, limit }) };
  }

  anomalies(): AnomaliesResponse {
    const { anomalies } = this.sources;
    return { total: anomalies.total, byKind: anomalies.byKind(), recent: anomalies.recent() };
  }

  uptimeMs(): number {
    return Math.round(this.sources.timers.nowMs() - this.sources.startedAtMs);
  }

  private serverInfo(): SummaryResponse["server"] {
    const { registry, sessions, sequencerCounters, connectionCounters, reorderBudget } = this.sources;
    return {
      version: this.sources.version,
      uptimeMs: this.uptimeMs(),
      sessions: sessions.size,
      connections: connectionCounters.open,
      eventsApplied: registry.eventsApplied,
      ingestThreads: this.sources.ingestThreads ?? 1,
      socketPath: this.sources.socketPath,
      eventsStale: sequencerCounters.staleDiscarded,
      clientDroppedEvents: sequencerCounters.clientDropped,
      resyncRequests: sequencerCounters.resyncRequests,
      snapshotsApplied: sequencerCounters.snapshotsApplied,
      protocolErrors: connectionCounters.protocolErrors,
      reorderBytes: reorderBudget.usedBytes,
      reorderBudgetBytes: reorderBudget.limitBytes,
      liveAllocations: registry.liveAllocations,
      maxLiveAllocations: registry.limit.maxLive,
      maxLiveAllocationsPerSession: registry.limit.maxLivePerSession,
      allocationsRefused: registry.limit.refused,
      freesExcused: registry.limit.excusedFrees,
      overLimit: registry.limit.markedCount,
      ...(this.sources.legacy !== undefined ? { legacy: this.sources.legacy() } : {}),
    };
  }
}

function anyOverLimit(ledgers: Iterable<Ledger>): boolean {
  for (const ledger of ledgers) if (ledger.overLimit) return true;
  return false;
}

/** AllocationQueries of one registry (the single-thread server's, or one shard's). */
export class RegistryAllocations implements AllocationQueries {
  private readonly maps: MemoryMapQuery;

  constructor(
    private readonly registry: Registry,
    catalog: DeviceCatalog,
    private readonly sessions: SessionTable,
    hostSummaryOf?: (deviceId: number) => DeviceSummary | undefined,
  ) {
    this.maps = new MemoryMapQuery({
      registry,
      catalog,
      processNameOf: (sessionId) => sessions.get(sessionId)?.identity.processName ?? "",
      hostSummaryOf,
    });
  }

  list(
    deviceId: number,
    sort: AllocationSort,
    limit: number,
    sessionId: string | undefined,
    nowMs: number,
  ): { total: number; allocations: AllocationView[] } {
    return listAllocations(
      this.registry,
      deviceId,
      sort,
      limit,
      nowMs,
      sessionId,
      (owner, contextId) => this.sessions.get(owner)?.contexts.text(contextId) ?? "",
    );
  }

  memoryMap(request: MemoryMapRequest): MemoryMapResponse {
    return this.maps.answer(request);
  }
}

/**
 * Up to `limit` live allocations of a device (optionally of one session), in `sort` order: size
 * largest first, address lowest first, age oldest first; ties by allocation id. Walks only that
 * device's allocations and keeps the best `limit` in a SelectionHeap (O(n log limit)); only those
 * become objects. `contextText` names a session's context id (protocol version 3); without it every
 * allocation's context is "".
 */
export function listAllocations(
  registry: Registry,
  deviceId: number,
  sort: AllocationSort,
  limit: number,
  nowMs: number,
  sessionId?: string,
  contextText?: (sessionId: string, contextId: number) => string,
): { total: number; allocations: AllocationView[] } {
  const device = registry.findDevice(deviceId);
  if (device === undefined || limit <= 0) return { total: 0, allocations: [] };
  const heap = new SelectionHeap(limit);
  const owners: Ledger[] = [];
  let total = 0;
  for (const ledger of device.ledgers) {
    if (sessionId !== undefined && ledger.account.sessionId !== sessionId) continue;
    const owner = owners.length;
    owners.push(ledger);
    const cursor = new LiveSlotCursor(registry, ledger);
    for (let slot = cursor.next(); slot !== NO_SLOT; slot = cursor.next()) {
      total++;
      // Smaller key = listed first.
      const key =
        sort === "size"
          ? -registry.sizeBytesAt(slot)
          : sort === "address"
            ? registry.addressAt(slot)
            : registry.allocatedAtMsAt(slot);
      heap.offer(key, registry.allocationIdAt(slot), slot, owner);
    }
  }
  const order = heap.sorted();
  const allocations: AllocationView[] = new Array(order.length);
  for (let i = 0; i < order.length; i++) {
    const slot = heap.slots[order[i]];
    const account = owners[heap.owners[order[i]]].account;
    allocations[i] = {
      sessionId: account.sessionId,
      pid: account.pid,
      deviceId,
      memoryType: API_MEMORY_TYPES[registry.memoryTypeAt(slot)],
      allocationId: registry.allocationIdAt(slot),
      address: registry.addressAt(slot),
      sizeBytes: registry.sizeBytesAt(slot),
      ageMs: Math.max(0, nowMs - registry.allocatedAtMsAt(slot)),
      context: contextText?.(account.sessionId, registry.contextIdAt(slot)) ?? "",
    };
  }
  return { total, allocations };
}
