/**
 * Public contracts of the client library: what a workload passes in and reads out.
 * Every numeric field names its unit (bytes, ms) or is a plain count.
 */
import type { EventFields, LiveAllocation } from "../protocol/event.js";
import type { DeviceDescriptor } from "../protocol/frames.js";
import type { ClientError } from "./errors.js";

export type { DeviceDescriptor, LiveAllocation };

/**
 * A device's live set as its allocator states it under its lock: every change with seq <= `seq` is
 * reflected, none after. `memoryType` uses the device layer's numbers, which equal the protocol's.
 */
/**
 * What carries a change to the server: the AllocationClient, as a TrackingProcessor (or a workload that
 * reports by hand) sees it. Fields in EventFields order, which is the device model's ChangeFields order.
 */
export interface EventRecorder {
  /** `context`: what an ALLOC is for (an operation or label, "" = none); see AllocationClient.record. */
  record(...event: [...EventFields, context?: string]): void;
}

export interface DeviceSnapshot {
  /** The allocator's sequence number at the time of the snapshot (0 before the first change). */
  seq: number;
  allocations: ArrayLike<LiveAllocation>;
}

/**
 * Where the client gets a device's live set when it must resync (after drops, a reconnect, or a
 * RESYNC_REQUEST). Return undefined for a device it does not know. Called off the allocation path,
 * from a timer; it should take the allocator's lock so that `seq` and `allocations` agree.
 */
export type SnapshotSource = (deviceId: number) => DeviceSnapshot | undefined;

/**
 * - `connecting`: the socket is opening or HELLO is waiting for WELCOME; events are queued.
 * - `ready`: WELCOME received; events flow.
 * - `backoff`: no server; events are dropped (devices marked dirty) until the next attempt.
 * - `closing` / `closed`: close() was called; events are dropped. `closed` also when tracking is off: the
 *   writer thread failed more than MAX_WRITER_RESTARTS times in a row (WriterFailedError, `restarting` false).
 */
export type ClientState = "connecting" | "ready" | "backoff" | "closing" | "closed";

export interface ClientCounters {
  /** Events handed to the socket. */
  sent: number;
  /**
   * Events not sent individually: queue full, no server, connection lost with them queued, or device
   * dirty and waiting for its snapshot. A later snapshot covers them when a snapshot source is set.
   */
  dropped: number;
  /** Events recorded with seq <= the device's last snapshot watermark: already in that snapshot. */
  coveredBySnapshot: number;
  /**
   * Events the wire cannot carry (bad op, memory type, device id, seq 0, value >= 2^53), or for a device
   * not in `devices` (the server refuses a device its HELLO did not announce): a caller bug. The op, memory
   * type and device id are checked by record(); the u64 values by the client's writer thread as it encodes,
   * so those count once it has reached them (at the latest when flush() resolves).
   */
  invalid: number;
  /**
   * Events sent with timestamp 0 because theirs was outside [0, 2^53) ns or not an integer, or rounded
   * down. Counted by the writer thread as it encodes, as `invalid`'s u64 part: exact for what was recorded
   * before a flush() once it resolves, and may lag record() until then.
   */
  repairedTimestamps: number;
  /** Device snapshots sent (SNAPSHOT_BEGIN .. SNAPSHOT_END). */
  resyncs: number;
  /** RESYNC_REQUEST frames received from the server. */
  resyncRequests: number;
  /** Connections established (WELCOME received) after the first one. */
  reconnects: number;
  /** Connection attempts that failed or ended, whatever the reason. */
  disconnects: number;
  /** EVENTS frames handed to the socket. */
  batches: number;
  /** Event bytes waiting in the client's queue right now (not yet handed to the socket). */
  queueBytes: number;
  /** Errors reported through onError (including those not delivered because onError is unset). */
  errors: number;
  /**
   * Writer threads that ended unexpectedly or could not start (each reported as a WriterFailedError; the
   * client starts a new one, and every device resyncs).
   */
  writerFailures: number;
}

export interface AllocationClientOptions {
  /** Unix socket of the server; default resolveSocketPath() ($ALLOCWATCH_SOCKET, $XDG_RUNTIME_DIR ...). */
  socketPath?: string;
  /**
   * 32 lowercase hex characters; default 16 random bytes. Clients of one process (one per worker
   * thread) pass the same id so the server sees one session over several connections, together with
   * the same `resumeSecret`.
   */
  sessionId?: string;
  /**
   * The session's resume secret, 32 lowercase hex characters; default 16 random bytes. The server lets a
   * connection join a live session only with the secret the session was opened with, so clients sharing a
   * session pass the first client's `sessionId` and `resumeSecret` both. Keep it inside the process: the
   * session id is public (monitors list it), the secret is what makes the session this process's.
   */
  resumeSecret?: string;
  /** Name shown by monitors; default the script's file name. */
  processName?: string;
  /** The devices this process uses, with their capacities (at most 256, distinct ids). */
  devices: readonly DeviceDescriptor[];
  /**
   * Live-set source for resync. Without it the client cannot heal drops: the server's view of a device
   * that lost events stays inexact until the process ends.
   */
  snapshot?: SnapshotSource;
  /**
   * Send a snapshot of every described device right after each connection is established, the first
   * included, and drop events until then (they are in the snapshot). Default true when `snapshot` is
   * set: a client created after the devices already hold memory then starts exact.
   */
  initialSnapshot?: boolean;
  /**
   * Bound on queued event bytes (48 per event); default 4 MiB. Snapshots in flight are not counted
   * against it. The queue is a ring shared with the client's writer thread, allocated at construction:
   * this many bytes rounded up, with room for 8192 markers, to a power of two of 48-byte slots (6 MiB
   * for the default).
   */
  maxQueueBytes?: number;
  /** Longest time an event waits in a partial batch before it is written, ms; default 1. */
  flushIntervalMs?: number;
  /** Events per EVENTS frame; default 2048, at most what fits in the server's frame limit. */
  batchMaxEvents?: number;
  /** First reconnect delay, ms; default 50. Doubles per failed attempt up to reconnectMaxMs. */
  reconnectInitialMs?: number;
  /** Longest reconnect delay, ms; default 2000. */
  reconnectMaxMs?: number;
  /** Time allowed for WELCOME after connecting, ms; default 5000. */
  handshakeTimeoutMs?: number;
  /** Called with every failure the client absorbed (never thrown); exceptions from it are swallowed. */
  onError?: (error: ClientError) => void;
  /** Called on every state change; exceptions from it are swallowed. */
  onStateChange?: (state: ClientState) => void;
}

export interface FlushOptions {
  /** Give up waiting after this long, ms; default 5000. flush() never rejects. */
  timeoutMs?: number;
}
