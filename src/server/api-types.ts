/**
 * The allocation server's public HTTP/JSON API: every response body, documented. Monitors (smi, top,
 * dashboard, demo) import ONLY this file from the server. All byte counts are JSON numbers (exact below
 * 2^53); times are milliseconds.
 *
 * Routes (all GET, on the `--http` address, default 127.0.0.1:7477):
 * - `/api/v1/summary`                   → SummaryResponse
 * - `/api/v1/devices/:id/allocations`   → AllocationsResponse
 *     query: `limit` (1..10000, default 100), `sort` (`size` largest first | `address` lowest first |
 *     `age` oldest first; default `size`), `session` (32 hex chars: only that session's allocations)
 * - `/api/v1/anomalies`                 → AnomaliesResponse
 * - `/healthz`                          → HealthResponse
 * Any refused request answers 4xx with ApiErrorResponse.
 */

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
  deviceAllocations: (deviceId: number): string => `/api/v1/devices/${deviceId}/allocations`,
} as const;

/** Usage of one memory type on one device, summed over every process. */
export interface MemoryUsage {
  /** Bytes held by live allocations. */
  used: number;
  /** Capacity from the device descriptor, bytes; 0 when no client described it. */
  total: number;
  /** Highest `used` since the server started, bytes. */
  peak: number;
  /** Number of live allocations. */
  allocations: number;
}

export interface DeviceSummary {
  id: number;
  /** From the first client that described the device; "unknown" when only events named it. */
  name: string;
  architecture: string;
  /** One entry for every memory type name (API_MEMORY_TYPES), even when unused. */
  memory: Record<ApiMemoryType, MemoryUsage>;
  /** Live allocations on the device, all types. */
  allocations: number;
}

/**
 * A session's life: `connected` (at least one connection), `disconnected` (no connection, within the
 * reconnect grace period; its memory still counts).
 */
export type ProcessState = "connected" | "disconnected";

export interface ProcessDeviceUsage {
  id: number;
  /** Bytes held by this process on this device, for every memory type name. */
  used: Record<ApiMemoryType, number>;
  /** Live allocations of this process on this device. */
  allocations: number;
}

export interface ProcessSummary {
  pid: number;
  name: string;
  /** 32 lowercase hex characters, chosen by the client; identifies the process across reconnects. */
  sessionId: string;
  state: ProcessState;
  /** Open connections of this session. */
  connections: number;
  /** Where the session came from: "native" (allocwatch protocol) or another adapter's name. */
  source: string;
  devices: ProcessDeviceUsage[];
}

export interface AnomalyCounts {
  total: number;
  /** Count per anomaly kind (AnomalyKind values); kinds never seen are absent. */
  byKind: Record<string, number>;
}

export interface ServerInfo {
  version: string;
  uptimeMs: number;
  /** Live sessions (connected or in their grace period). */
  sessions: number;
  /** Open client connections. */
  connections: number;
  /** Alloc/free events applied to the live state since start. */
  eventsApplied: number;
  socketPath: string;
  /** Events discarded because a snapshot already covered them (expected during resyncs). */
  eventsStale: number;
  /** Resync requests sent to clients. */
  resyncRequests: number;
  /** Snapshots swapped in. */
  snapshotsApplied: number;
  /** Connections closed because of a protocol error. */
  protocolErrors: number;
}

export interface SummaryResponse {
  devices: DeviceSummary[];
  processes: ProcessSummary[];
  anomalies: AnomalyCounts;
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

/**
 * Anomaly kinds. Each is counted; the most recent are kept in a bounded list.
 * - DUPLICATE_ALLOCATION: ALLOC of an allocation id that is already live in its (session, device).
 * - UNKNOWN_FREE: FREE of an allocation id that is not live.
 * - FREE_MISMATCH: FREE whose memory type or size differs from the ALLOC's (the stored values win).
 * - ADDRESS_OVERLAP: two live allocations of one session start at the same address of one
 *   (device, memory type) region (the seed's address-reuse bug signature).
 * - DESCRIPTOR_CONFLICT: two sessions describe one device id differently (the first description stays).
 * - DUPLICATE_SEQ: an event whose sequence number was already applied (and no snapshot covers it).
 * - SEQUENCE_GAP: a missing sequence number did not arrive within the gap timeout; a resync was requested.
 * - REORDER_OVERFLOW: an event too far ahead of the missing one to buffer; a resync was requested.
 * - SNAPSHOT_INVALID: a snapshot that disagrees with itself (count, watermark) or was cut off.
 * - PROTOCOL_ERROR: a connection sent bytes the protocol refuses; it got an ERROR frame and was closed.
 * Legacy tt-metal protocol only (src/server/legacy):
 * - INVALID_DEVICE_ID / INVALID_SIZE / INVALID_BUFFER_TYPE / INVALID_BUFFER_ID / INVALID_PID: a legacy
 *   frame with that field out of range; the frame was ignored.
 * - LEGACY_BAD_FRAME: a legacy frame skipped whole (unknown or server-to-client type); the connection
 *   is closed after a bounded number of them.
 * - REORDERED_FREE: a FREE held by the reorder window met a late ALLOC of the same key; both dropped.
 */
export type AnomalyKind =
  | "DUPLICATE_ALLOCATION"
  | "UNKNOWN_FREE"
  | "FREE_MISMATCH"
  | "ADDRESS_OVERLAP"
  | "DESCRIPTOR_CONFLICT"
  | "DUPLICATE_SEQ"
  | "SEQUENCE_GAP"
  | "REORDER_OVERFLOW"
  | "SNAPSHOT_INVALID"
  | "PROTOCOL_ERROR"
  | "INVALID_DEVICE_ID"
  | "INVALID_SIZE"
  | "INVALID_BUFFER_TYPE"
  | "INVALID_BUFFER_ID"
  | "INVALID_PID"
  | "LEGACY_BAD_FRAME"
  | "REORDERED_FREE";

export interface AnomalyRecord {
  kind: AnomalyKind;
  /** Session involved, or "" when none (e.g. a connection that failed before HELLO). */
  sessionId: string;
  /** pid of that session, 0 when none. */
  pid: number;
  /** Device involved, or null when none. */
  deviceId: number | null;
  detail: string;
  /** Wall-clock time, ms since the Unix epoch. */
  timeMs: number;
}

export interface AnomaliesResponse extends AnomalyCounts {
  /** Most recent first, at most the server's bound (default 256). */
  recent: AnomalyRecord[];
}

export interface HealthResponse {
  status: "ok";
  uptimeMs: number;
}

export interface ApiErrorResponse {
  error: {
    /** Stable code: BAD_REQUEST, NOT_FOUND, METHOD_NOT_ALLOWED. */
    code: string;
    message: string;
  };
}
