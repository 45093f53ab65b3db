/**
 * The allocation server's public HTTP/JSON API: every response body, documented. Monitors (smi, top,
 * dashboard, demo) import ONLY this file from the server (so it stays one file). All byte counts are JSON numbers (exact below
 * 2^53); times are milliseconds.
 *
 * Routes (all GET, on the `--http` address, default 127.0.0.1:7477):
 * - `/api/v1/summary`                   → SummaryResponse
 * - `/api/v1/devices/:id/allocations`   → AllocationsResponse
 *     query: `limit` (1..10000, default 100), `sort` (`size` largest first | `address` lowest first |
 *     `age` oldest first; default `size`), `session` (32 hex chars: only that session's allocations)
 * - `/api/v1/devices/:id/memory-map`    → MemoryMapResponse
 *     query: `type` (DRAM | L1 | L1_SMALL | TRACE | CB, required), `buckets` (1..65536, default 2048)
 * - `/api/v1/anomalies`                 → AnomaliesResponse
 * - `/healthz`                          → HealthResponse
 * - `/api/v1/series`                    → SeriesResponse (query: `device`, `since`)
 * - `/api/v1/history`                   → HistoryResponse (query: `device`, `type`, `pid`, `from`, `to`, `step`)
 * - `/api/v1/stream`                    → Server-Sent Events (StreamEventType)
 * - `/api/v1/leaks`                     → LeaksResponse (query: `pid`, `limit` 1..1000, default 100)
 * The whole API, with units and limits: docs/API.md.
 * Any refused request answers 4xx (a failure 500) with ApiErrorResponse.
 */

import type { AnomalyRecord } from "./anomaly-log.js";
import type { SessionState } from "./session.js";

// Small types owned by the server's parts, part of the API as they are.
export type { AnomalyKind } from "./anomaly-kind.js";
export type { RecoveryKind } from "./recovery-kind.js";
export type { AnomalyRecord, SessionState };

/**
 * A process's state in the summary. Sessions (native, legacy) are "connected" or "disconnected" (in their
 * reconnect grace). tt-metal processes seen only through shared memory (source "tt-shm") are "reporting"
 * while alive, and "dead" once their process has exited while its slot still holds bytes: those bytes are
 * leaked (counted in `MemoryUsage.leaked`, not `used`) until a tt-metal process reaps the slot.
 */
export type ProcessState = SessionState | "reporting" | "dead";

/** Memory type names in wire order (protocol MemoryType 0..6). */
export const API_MEMORY_TYPES = ["DRAM", "L1", "SYSTEM_MEMORY", "L1_SMALL", "TRACE", "CB", "KERNEL"] as const;
export type ApiMemoryType = (typeof API_MEMORY_TYPES)[number];

/** Default `--http` address. */
export const DEFAULT_HTTP_HOST = "127.0.0.1";
export const DEFAULT_HTTP_PORT = 7477;

/** Route paths, so that monitors never spell them by hand. */
export const ApiRoute = {
  SUMMARY: "/api/v1/summary",
  ANOMALIES: "/api/v1/anomalies",
  HEALTH: "/healthz",
  SERIES: "/api/v1/series",
  STREAM: "/api/v1/stream",
  /** Prometheus text exposition (not JSON). */
  METRICS: "/metrics",
  HISTORY: "/api/v1/history",
  LEAKS: "/api/v1/leaks",
  deviceAllocations: (deviceId: number): string => `/api/v1/devices/${deviceId}/allocations`,
  deviceMemoryMap: (deviceId: number): string => `/api/v1/devices/${deviceId}/memory-map`,
} as const;

/** Usage of one memory type on one device, summed over every process. */
export interface MemoryUsage {
  /** Bytes held by live allocations. */
  used: number;
  /** Capacity from the device descriptor, bytes; 0 when no client described it. */
  total: number;
  /** Highest `used` since the server started, bytes. */
  peak: number;
  /** Number of live allocations (per-buffer sources only: shared-memory counters have no buffers). */
  allocations: number;
  /** Bytes still held by shared-memory slots of processes that have exited (leaked; not in `used`). */
  leaked: number;
}

/**
 * Where the server learned of a device: "hardware" (a card of the kernel driver, /dev/tenstorrent/<N>),
 * "tt-shm" (a tt-metal shared-memory region), "configured" (`--legacy-device`), "reported" (a client
 * described it or allocated on it).
 */
export type DeviceSource = "hardware" | "tt-shm" | "configured" | "reported";

/** A process that has the device's node open (kernel driver), whether or not it reports memory. */
export interface DeviceHolder {
  pid: number;
  name: string;
  /** false: it holds the device but reports nothing (no session, no shared-memory slot). */
  reporting: boolean;
}

export interface DeviceSummary {
  id: number;
  /**
   * From the oldest live session that described the device (a description leaves with the last session
   * that gave it); "unknown" when only a legacy client's events name it.
   */
  name: string;
  architecture: string;
  /** One entry for every memory type name (API_MEMORY_TYPES), even when unused. */
  memory: Record<ApiMemoryType, MemoryUsage>;
  /** Live allocations on the device, all types. */
  allocations: number;
  /** How the server knows the device, in the order learned. */
  sources: DeviceSource[];
  /** The chip's unique id, when a shared-memory region (decimal) or the driver (hex) gives it. */
  asicId?: string;
  /** The driver's card type ("n150", "p150a", …), for cards of this host. */
  card?: string;
  /** Processes with the device open, from the driver (empty when the host shows no card for it). */
  holders: DeviceHolder[];
  /**
   * true: a live-allocation limit refused allocations of some process on this device that no snapshot has
   * made up for yet, so `used`, `allocations` and the memory map are lower bounds (ProcessDeviceUsage).
   */
  overLimit: boolean;
}

export interface ProcessDeviceUsage {
  id: number;
  /** Bytes held by this process on this device, for every memory type name. */
  used: Record<ApiMemoryType, number>;
  /** Live allocations of this process on this device. */
  allocations: number;
  /**
   * true: the server's live-allocation limits (`serve --max-live-allocations`, `--max-live-allocations-
   * per-session`) refused allocations of this process on this device since its last snapshot: `used` and
   * `allocations` are lower bounds. Once the process is back under 3/4 of the limits the server asks it
   * for a snapshot, which makes them exact again (native clients; a legacy process stays marked).
   */
  overLimit: boolean;
  /** Allocations of this process on this device the limits refused, since its session began. */
  refusedAllocations: number;
}

export interface ProcessSummary {
  pid: number;
  name: string;
  /** 32 lowercase hex characters, chosen by the client; identifies the process across reconnects. */
  sessionId: string;
  state: ProcessState;
  /** Open connections of this session. */
  connections: number;
  /** Where the process is seen from: "native" (allocwatch protocol), "legacy" or "tt-shm". */
  source: string;
  devices: ProcessDeviceUsage[];
}

export interface AnomalyCounts {
  total: number;
  /** Count per anomaly kind (AnomalyKind values); kinds never seen are absent. */
  byKind: Record<string, number>;
}

/**
 * Transport recoveries since the server started (counts of occurrences): what the server did to keep
 * the view exact when a connection lagged, the server or a client stalled, or a client dropped events
 * (resync requests, gaps declared lost, events beyond the reorder window or budget). Unlike anomalies
 * they never mean the data is wrong; a rising count means resyncs (snapshots) are being paid for.
 */
export interface RecoveryCounts {
  total: number;
  /** Count per recovery kind (RecoveryKind values); kinds never seen are absent. */
  byKind: Record<string, number>;
}

export interface ServerInfo {
  version: string;
  uptimeMs: number;
  /** Live sessions (connected or in their grace period). */
  sessions: number;
  /** Open client connections. */
  connections: number;
  /** Alloc/free events applied to the live state since start, by `ingestThreads` threads (1: main). */
  eventsApplied: number;
  ingestThreads: number;
  socketPath: string;
  /** Events discarded because a snapshot already covered them (expected during resyncs). */
  eventsStale: number;
  /**
   * Events clients dropped (full queue, no server, a lost connection) that snapshots stood in for:
   * sequence numbers covered by an applied snapshot that never reached this server. A session's first
   * snapshot is not counted (what it covers went to an earlier server, if any).
   */
  clientDroppedEvents: number;
  /** Resync requests sent to clients. */
  resyncRequests: number;
  /** Snapshots swapped in. */
  snapshotsApplied: number;
  /** Connections closed because of a protocol error. */
  protocolErrors: number;
  /** Bytes held now by every reorder buffer (events waiting for a missing sequence number). */
  reorderBytes: number;
  /** The server-wide limit on `reorderBytes`, bytes (`serve --reorder-budget-bytes`). */
  reorderBudgetBytes: number;
  /** Live allocations the server holds now, every session and device (native and legacy). */
  liveAllocations: number;
  /** The server-wide limit on `liveAllocations` (`serve --max-live-allocations`). */
  maxLiveAllocations: number;
  /** The limit on one session's live allocations (`serve --max-live-allocations-per-session`). */
  maxLiveAllocationsPerSession: number;
  /** Allocations (ALLOCs and snapshot entries) not stored because of those limits, since start. */
  allocationsRefused: number;
  /** FREEs of unknown ids not counted as UNKNOWN_FREE because their (session, device) was over a limit. */
  freesExcused: number;
  /** (session, device) pairs over a limit now (ProcessDeviceUsage.overLimit). */
  overLimit: number;
  /** The legacy adapter (tt-metal's original protocol); absent when the server does not run it. */
  legacy?: LegacyInfo;
}

/**
 * The legacy adapter's connections and traffic since the server started (counts). Its frames name
 * buffers by address, so these say how often that went wrong in the ways the original server could not
 * tell: FREEs of addresses not live, FREEs that waited for their ALLOC, bytes that lost the frame grid.
 */
export interface LegacyInfo {
  socketPath: string;
  /** Open legacy connections. */
  connections: number;
  /** Connections closed at once because `--legacy-max-connections` were open. */
  refusedConnections: number;
  /** Connections closed because their unsent replies passed `--legacy-max-reply-bytes`. */
  budgetClosures: number;
  /** Times a connection lost the frame grid and skipped bytes to a plausible frame. */
  quarantines: number;
  /** ALLOC / CB_ALLOC / KERNEL_LOAD frames that made a live allocation. */
  allocations: number;
  /** ALLOCs of a key already live (its reference count raised, no bytes added). */
  sharedAllocations: number;
  /** FREEs that released an allocation. */
  frees: number;
  /** FREEs that dropped a reference and left the allocation live. */
  sharedFrees: number;
  /** FREEs of keys not live (after the reorder window): an UNKNOWN_FREE anomaly each. */
  unknownFrees: number;
  /** FREEs held by the reorder window because their ALLOC had not arrived. */
  heldFrees: number;
  /** Held FREEs that their late ALLOC then matched (the race the window absorbs). */
  reorderedFrees: number;
}

export interface SummaryResponse {
  devices: DeviceSummary[];
  processes: ProcessSummary[];
  anomalies: AnomalyCounts;
  /** Transport recoveries, counted apart from anomalies (they never mean the data is wrong). */
  recoveries: RecoveryCounts;
  server: ServerInfo;
}

/** One live allocation. */
export interface AllocationView {
  sessionId: string;
  pid: number;
  deviceId: number;
  memoryType: ApiMemoryType;
  /** Unique within (session, device). */
  allocationId: number;
  /** Device address (per-bank offset for banked memory), bytes. */
  address: number;
  sizeBytes: number;
  /** How long the allocation has been live on the server's clock, ms. */
  ageMs: number;
  /**
   * What the allocation is for: the context (operation or label) its client named for it (protocol
   * version 3); "" when none.
   */
  context: string;
}

export type AllocationSort = "size" | "address" | "age";

export interface AllocationsResponse {
  deviceId: number;
  sort: AllocationSort;
  limit: number;
  /** Live allocations matching the filter (before the limit). */
  total: number;
  allocations: AllocationView[];
}

export interface AnomaliesResponse extends AnomalyCounts {
  /** Most recent first, at most the server's bound (default 256). */
  recent: AnomalyRecord[];
}

/**
 * One second of one figure (bytes in use): the lowest, highest and last value seen in it, so that a
 * burst inside the second shows as `max` even when `last` is 0.
 */
export interface SeriesBucket {
  /** Start of the second, ms since the Unix epoch (a multiple of 1000). */
  t: number;
  /** Bytes. */
  min: number;
  /** Bytes. */
  max: number;
  /** Bytes at the end of the second (or now, for the current one). */
  last: number;
}

/** Per memory type name, the buckets of one figure, oldest first (types never used may be empty). */
export type SeriesByType = Record<ApiMemoryType, SeriesBucket[]>;

/**
 * `GET /api/v1/series` (query: `device` = one device id; `since` = ms since the epoch, only buckets with
 * `t >= since`): used bytes in 1-s buckets for the last 15 minutes, per device and memory type and per
 * process × device × memory type.
 */
export interface SeriesResponse {
  /** Bucket width, ms (1000). */
  bucketMs: number;
  /** How far back the server keeps buckets, ms (900000 = 15 min). */
  windowMs: number;
  devices: { id: number; used: SeriesByType }[];
  processes: { sessionId: string; pid: number; deviceId: number; used: SeriesByType }[];
}

/**
 * `GET /api/v1/stream`: Server-Sent Events, at most 4 messages a second whatever the event rate. Each
 * message is `event: <type>` and `data: <JSON>`:
 * - `summary`: a SummaryResponse (the first message is always one; later ones when anything changed);
 * - `series`: a SeriesResponse holding only the buckets that changed since the previous message.
 */
export type StreamEventType = "summary" | "series";

/** Memory types a map can be drawn for (bank-local address spaces). */
export type MemoryMapType = "DRAM" | "L1" | "L1_SMALL" | "TRACE" | "CB";

/** An occupied extent of the bank-local address space and who holds it. */
export interface MemoryMapExtent {
  /** Bank-local start address, bytes. */
  address: number;
  /** Bytes the allocation takes in one bank (its size spread over the device's banks, aligned). */
  bankBytes: number;
  /** The allocation's total size over all banks, bytes. */
  sizeBytes: number;
  pid: number;
  processName: string;
  sessionId: string;
  allocationId: number;
  /** How long it has been live, ms. */
  ageMs: number;
  /** The allocation's type: "L1" or "CB" on the L1/CB map (one shared region), else the map's type. */
  memoryType?: MemoryMapType;
}

/** A free extent of the bank-local address space. */
export interface MemoryMapFreeExtent {
  /** Bytes. */
  address: number;
  /** Bytes. */
  sizeBytes: number;
}

/** One of `buckets` equal slices of the address space, when the map is aggregated. */
export interface MemoryMapBucket {
  /** Bank-local start of the slice, bytes. */
  address: number;
  /** Width of the slice, bytes. */
  sizeBytes: number;
  /** Bytes of the slice that are occupied. */
  occupiedBytes: number;
  /** The pid holding the most bytes of the slice (0: none). */
  dominantPid: number;
}

/**
 * `GET /api/v1/devices/:id/memory-map?type=DRAM|L1|L1_SMALL|TRACE|CB&buckets=N`: the bank-local address
 * space of one memory type (what one bank or core sees). With at most `buckets` extents (default 2048)
 * the extents are listed; beyond, `extents` and `free` are empty and `buckets` holds the aggregate.
 */
export interface MemoryMapResponse {
  deviceId: number;
  memoryType: MemoryMapType;
  /**
   * false: the server cannot place allocations in a bank (the device's layout is unknown, or its
   * allocations come from sources without addresses: legacy frames of unknown devices, shared-memory
   * counters); then only the totals below are given, and `reason` says why.
   */
  exact: boolean;
  reason?: string;
  /** Bank-local start and end (exclusive) of the memory type's region, bytes. */
  regionStart: number;
  regionEnd: number;
  /** Banks the region is interleaved over. */
  bankCount: number;
  extents: MemoryMapExtent[];
  free: MemoryMapFreeExtent[];
  buckets: MemoryMapBucket[];
  /** Bytes. */
  largestFreeBlock: number;
  /** Bank-local free bytes. */
  freeBytes: number;
  /** 1 − largestFreeBlock / freeBytes (0 when nothing is free). */
  fragmentation: number;
  /** Live allocations of the type on the device (L1 and CB together on their shared map). */
  allocations: number;
  /** Bytes the map's types hold on the device over all banks, every source counted (as the summary). */
  usedBytes?: number;
}

export interface HealthResponse {
  status: "ok";
  uptimeMs: number;
}

/** Stable codes of ApiErrorResponse (match on these, never on the message). */
export const ApiErrorCode = {
  /** 400: a malformed path or query parameter; the message says which and what is allowed. */
  BAD_REQUEST: "HTTP_BAD_REQUEST",
  /** 404: no such route, or no such device. */
  NOT_FOUND: "HTTP_NOT_FOUND",
  /** 405: the route exists, but only for GET (and HEAD). */
  METHOD_NOT_ALLOWED: "HTTP_METHOD_NOT_ALLOWED",
  /**
   * 403: the request's Host header names neither this machine (localhost, 127.0.0.1, [::1], the bound
   * address) nor a `--http-allow-host` name, as a web page using DNS rebinding would.
   */
  HOST_NOT_ALLOWED: "HTTP_HOST_NOT_ALLOWED",
  /** 503: `/api/v1/stream` already has as many clients as the server allows (64 by default). */
  TOO_MANY_STREAMS: "HTTP_TOO_MANY_STREAMS",
  /** 500: a defect in the server while answering; the server logs it. */
  INTERNAL: "HTTP_INTERNAL_ERROR",
} as const;
export type ApiErrorCode = (typeof ApiErrorCode)[keyof typeof ApiErrorCode];

export interface ApiErrorResponse {
  error: {
    code: ApiErrorCode;
    message: string;
  };
}

/** Bytes or counts per memory type (every type present, 0 when none). */
export type PerMemoryType = Record<ApiMemoryType, number>;

export type {
  HistoryLifetime,
  HistoryLifetimeDevice,
  HistoryPoint,
  HistoryResponse,
  HistorySeries,
} from "./history/history-api-types.js";
// Leak reports and history, each in its own file: re-exported here, the one file monitors import.
export type {
  LeakContextGroup,
  LeakedAllocation,
  LeakReport,
  LeaksResponse,
} from "./leaks/leak-api-types.js";
