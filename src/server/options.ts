import { availableParallelism } from "node:os";
import type { Writable } from "node:stream";
import type { Logger } from "pino";
import { resolveEndpointOptions } from "./endpoint-options.js";
import { InvalidOptionError } from "./errors.js";
import {
  type HistoryOptions,
  type ResolvedHistoryOptions,
  resolveHistoryOptions,
} from "./history/history-options.js";
import {
  type HardwareOptions,
  type ResolvedHardwareOptions,
  type ResolvedTtShmOptions,
  resolveHardwareOptions,
  resolveTtShmOptions,
  type TtShmOptions,
} from "./host-options.js";
import type { HttpAddress } from "./http-api.js";
import type { LeakArchive } from "./leaks/leak-archive.js";
import type { LegacyOptions } from "./legacy/options.js";
import { resolveLimitOptions } from "./limit-options.js";
import { DEFAULT_MAX_PROCESS_SERIES } from "./metrics/prometheus-metrics.js";
import { nonNegativeInteger, positiveInteger } from "./option-checks.js";
import { kernelPeerCredentials, type PeerCredentialSource } from "./peer-credentials.js";
import { type ProcessLiveness, procLiveness } from "./process-liveness.js";
import { DEFAULT_SERIES_BUDGET_BYTES } from "./series/usage-series.js";
import { DEFAULT_STREAM_LIMITS, type StreamLimits } from "./stream/live-stream.js";
import { systemTimers, type TimerScheduler } from "./timers.js";

export {
  DEFAULT_BUFFER_BUDGET_BYTES,
  DEFAULT_HELLO_TIMEOUT_MS,
  DEFAULT_MAX_OUTBOUND_BYTES,
  MAX_DEVICES_PER_SESSION,
  MAX_REORDER_CAPACITY,
} from "./limit-options.js";

export const LOG_LEVELS = ["silent", "error", "warn", "info", "debug"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerOptions {
  /** Unix socket path; default: defaultSocketPath() ($ALLOCWATCH_SOCKET, $XDG_RUNTIME_DIR, /tmp). */
  socketPath?: string;
  /** HTTP API address "host:port" (port 0 = any free port); false = no HTTP API. Default 127.0.0.1:7477. */
  http?: string | HttpAddress | false;
  /** Allow `http` on an address other machines can reach (0.0.0.0, a LAN address). Default false. */
  httpPublic?: boolean;
  /** Host names the HTTP API answers to besides localhost, 127.0.0.1, [::1] and its address. Default none. */
  httpAllowHosts?: readonly string[];
  /** Reconnect grace for an idle session whose process is alive, ms. Default 2000. */
  graceMs?: number;
  /** How long a missing sequence number is waited for before a resync is requested, ms. Default 1000. */
  gapTimeoutMs?: number;
  /**
   * The reorder window, events; power of two: an event at most this far ahead of a missing one waits
   * for it (so at most this many wait per (session, device)); one further ahead is dropped and a
   * snapshot asked for at once. Memory follows the events actually waiting. Default 2^16.
   */
  reorderCapacity?: number;
  /**
   * Bytes all reorder buffers of the server may hold together; a buffer that would grow beyond it drops
   * the event and asks for a snapshot instead. Default 64 MiB.
   */
  reorderBudgetBytes?: number;
  /** Most device ids one session may announce over all its HELLOs. Default 64. */
  maxDevicesPerSession?: number;
  /**
   * Most allocation contexts one session may define (CONTEXT frames, protocol version 3); past it a
   * definition is dropped (CONTEXT_LIMIT anomaly). Default 4096.
   */
  maxContextsPerSession?: number;
  /**
   * Most live allocations the server holds over every session and device; an ALLOC past it is not
   * stored, counted, and its (session, device) marked over the limit until a snapshot makes it exact
   * again (docs/DESIGN.md "Live-allocation limits"). Default 8,388,608 (~480 MiB of registry at ~60 bytes each).
   */
  maxLiveAllocations?: number;
  /**
   * Most live allocations one session holds over its devices, as maxLiveAllocations does server-wide;
   * at most maxLiveAllocations. Default 2,097,152, or maxLiveAllocations when that is lower.
   */
  maxLiveAllocationsPerSession?: number;
  /**
   * Where leak reports go (sessions that end holding allocations). Default: the history database's
   * (`history`), kept across restarts; without history a MemoryLeakArchive of the newest 256 reports.
   */
  leakArchive?: LeakArchive;
  /**
   * Most sessions one process (pid) may hold, connected or in their grace; past it the oldest idle one is
   * released. Default 16.
   */
  maxSessionsPerProcess?: number;
  /** Most sessions the server holds; past it the oldest idle one is released. Default 4096. */
  maxSessions?: number;
  /** Period of the liveness sweep over all sessions, ms. Default 1000. */
  sweepIntervalMs?: number;
  /** Largest frame accepted and announced in WELCOME, bytes. Default and maximum 1 MiB. */
  maxFrameBytes?: number;
  /**
   * How long a new connection has to complete HELLO, counted from accept (bytes do not extend it), ms.
   * Default 5000.
   */
  helloTimeoutMs?: number;
  /**
   * Bytes all native connections together may make the server hold: frames not yet complete and replies
   * not yet read. When full, a connection holding more than its share (budget / connections holding
   * bytes) is closed with ERROR SERVER_BUDGET_EXCEEDED. At least maxFrameBytes. Default 64 MiB.
   */
  bufferBudgetBytes?: number;
  /** Reply bytes that may wait unread for one client before its connection is dropped. Default 1 MiB. */
  maxOutboundBytes?: number;
  /** Recent anomalies kept for the API. Default 256. */
  recentAnomalies?: number;
  /** Most client connections open at once; more are refused (SERVER_TOO_MANY_CONNECTIONS). Default 512. */
  maxConnections?: number;
  /**
   * Most client connections open at once per uid (the kernel's, SO_PEERCRED; all connections count as one
   * uid where peer credentials are unavailable); more are refused (SERVER_TOO_MANY_CONNECTIONS_FOR_UID).
   * Default 128, or maxConnections when that is lower.
   */
  maxConnectionsPerUid?: number;
  /**
   * Who is connecting, as the kernel says (pid, uid). Default: the native addon (native/peercred), or none
   * where it cannot load or ALLOCWATCH_PEER_CREDENTIALS=off (then a warning is logged at start).
   */
  peerCredentials?: PeerCredentialSource;
  /** Log level when no `logger` is given. Default "info". */
  logLevel?: LogLevel;
  /** Log every applied event (at debug level; implies logLevel "debug"). */
  verbose?: boolean;
  /** A ready logger (tests, embedding); otherwise pino writes JSON lines to stderr. */
  logger?: Logger;
  /** Also serve the original tt-metal protocol (src/server/legacy) with these options; absent = off. */
  legacy?: Partial<LegacyOptions>;
  /** Read tt-metal's shared-memory regions (src/server/tt-shm) with these options; absent/false = off. */
  ttShm?: TtShmOptions | false;
  /** Show this host's Tenstorrent cards and their holders (src/server/hardware); absent/false = off. */
  hardware?: HardwareOptions | false;
  /** Where the legacy DUMP_REMAINING / DUMP_KERNELS tables print (tests capture it). Default: stdout. */
  stdout?: Writable;
  /**
   * Bounds of `/api/v1/stream` (src/server/stream): most clients (64), unsent bytes before a slow reader
   * is dropped (1 MiB), tick (250 ms), heartbeat (15 s). Defaults: DEFAULT_STREAM_LIMITS.
   */
  streamLimits?: Partial<StreamLimits>;
  /**
   * The most bytes the used-bytes series may take (src/server/series: 21,600 bytes per memory type of a
   * device or of a session on a device); types past it show no buckets. Default 64 MiB.
   */
  seriesBudgetBytes?: number;
  /**
   * Ingest shards (docs/ARCHITECTURE.md "Ingest on more than one core"): 1 (default) applies every event
   * on the main thread; N > 1 runs N shards, each owning whole processes' sessions, on worker threads.
   * "auto": one fewer than the cores (at least 1). At most MAX_INGEST_THREADS.
   */
  ingestThreads?: number | "auto";
  /**
   * With ingestThreads > 1: run the shards on the main thread instead of worker threads (the same
   * routing and merging, no parallelism; tests of the merging, and hosts where sockets cannot move).
   */
  shardsOnMainThread?: boolean;
  /**
   * Most `allocwatch_process_memory_used_bytes` series one `/metrics` scrape answers (7 per process and
   * device); past it the pairs holding the fewest bytes are left out. Default 10,000.
   */
  maxMetricsProcessSeries?: number;
  /**
   * Keep history (samples, process lifetimes, anomalies, leak reports) in this SQLite database
   * (src/server/history); absent/false = none (`serve` turns it on by default, startServer does not).
   */
  history?: HistoryOptions | false;
  /** Injected for tests: process liveness check and clock/timers. */
  liveness?: ProcessLiveness;
  timers?: TimerScheduler;
  /** Injected for tests: the wall clock series buckets are aligned to, ms since the epoch. Default Date.now. */
  epochMs?: () => number;
}

/** ServerOptions checked, with every default filled in: what the composition root builds from. */
export interface ResolvedServerOptions {
  socketPath: string;
  /** undefined: no HTTP API. */
  httpAddress: HttpAddress | undefined;
  httpPublic: boolean;
  /** Lower case, IPv6 without brackets. */
  httpAllowHosts: string[];
  graceMs: number;
  gapTimeoutMs: number;
  /** Events, a power of two. */
  reorderCapacity: number;
  reorderBudgetBytes: number;
  maxDevicesPerSession: number;
  maxContextsPerSession: number;
  maxLiveAllocations: number;
  maxLiveAllocationsPerSession: number;
  /** Undefined: the history database's when there is one, else a MemoryLeakArchive (server.ts). */
  leakArchive: LeakArchive | undefined;
  maxSessionsPerProcess: number;
  maxSessions: number;
  sweepIntervalMs: number;
  maxFrameBytes: number;
  helloTimeoutMs: number;
  bufferBudgetBytes: number;
  maxOutboundBytes: number;
  recentAnomalies: number;
  maxConnections: number;
  maxConnectionsPerUid: number;
  peerCredentials: PeerCredentialSource;
  /** "debug" when `verbose`. */
  logLevel: LogLevel;
  verbose: boolean;
  /** undefined: the server makes its own (pino to stderr at `logLevel`). */
  logger: Logger | undefined;
  /** undefined: the legacy protocol is off. */
  legacy: LegacyOptions | undefined;
  /** undefined: off. */
  ttShm: ResolvedTtShmOptions | undefined;
  /** undefined: off. */
  hardware: ResolvedHardwareOptions | undefined;
  /** undefined: process.stdout. */
  stdout: Writable | undefined;
  liveness: ProcessLiveness;
  timers: TimerScheduler;
  seriesBudgetBytes: number;
  ingestThreads: number;
  shardsOnMainThread: boolean;
  streamLimits: StreamLimits;
  maxMetricsProcessSeries: number;
  epochMs: () => number;
  /** undefined: no history. */
  history: ResolvedHistoryOptions | undefined;
}

/**
 * Checks every option once and fills the defaults. Throws InvalidOptionError (code
 * SERVER_INVALID_OPTION) naming the option, its CLI flag where it has one, what is allowed and what was
 * given.
 */
/** Most ingest shards (`--ingest-threads`): far above the cores of the hosts this runs on. */
export const MAX_INGEST_THREADS = 64;

function atMost(value: number, most: number, name: string): number {
  if (value > most) throw new InvalidOptionError(`${name} must be at most ${most}, got ${value}`);
  return value;
}

export function resolveServerOptions(options: ServerOptions = {}): ResolvedServerOptions {
  const limits = resolveLimitOptions(options);
  const endpoints = resolveEndpointOptions(options);
  const leakArchive = options.leakArchive;
  const verbose = options.verbose === true;
  const logLevel = options.logLevel ?? "info";
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new InvalidOptionError(`logLevel must be one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
  }
  return {
    ...limits,
    ...endpoints,
    leakArchive,
    peerCredentials: options.peerCredentials ?? kernelPeerCredentials(),
    logLevel: verbose ? "debug" : logLevel,
    verbose,
    logger: options.logger,
    ttShm: resolveTtShmOptions(options.ttShm),
    hardware: resolveHardwareOptions(options.hardware),
    stdout: options.stdout,
    liveness: options.liveness ?? procLiveness,
    timers: options.timers ?? systemTimers,
    streamLimits: resolveStreamLimits(options.streamLimits),
    seriesBudgetBytes: nonNegativeInteger(
      options.seriesBudgetBytes,
      DEFAULT_SERIES_BUDGET_BYTES,
      "seriesBudgetBytes (--series-budget-bytes)",
      "bytes",
    ),
    ingestThreads:
      options.ingestThreads === "auto"
        ? Math.min(MAX_INGEST_THREADS, Math.max(1, availableParallelism() - 1))
        : atMost(
            positiveInteger(options.ingestThreads, 1, "ingestThreads (--ingest-threads)", "threads"),
            MAX_INGEST_THREADS,
            "ingestThreads (--ingest-threads)",
          ),
    shardsOnMainThread: options.shardsOnMainThread === true,
    maxMetricsProcessSeries: positiveInteger(
      options.maxMetricsProcessSeries,
      DEFAULT_MAX_PROCESS_SERIES,
      "maxMetricsProcessSeries (--max-metrics-process-series)",
      "series",
    ),
    epochMs: options.epochMs ?? Date.now,
    history: resolveHistoryOptions(options.history),
  };
}

/** The `serve` flags of the stream limits that have one. */
const STREAM_LIMIT_FLAGS: Partial<Record<keyof StreamLimits, string>> = {
  maxClients: "--max-stream-clients",
  maxUnsentBytes: "--stream-max-unsent-bytes",
};

function resolveStreamLimits(limits: Partial<StreamLimits> | undefined): StreamLimits {
  const resolved = { ...DEFAULT_STREAM_LIMITS, ...limits };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 1) {
      const flag = STREAM_LIMIT_FLAGS[name as keyof StreamLimits];
      throw new InvalidOptionError(
        `streamLimits.${name}${flag === undefined ? "" : ` (${flag})`} must be a positive integer, got ${value}`,
      );
    }
  }
  return resolved;
}
