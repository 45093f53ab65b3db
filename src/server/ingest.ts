import type { Socket } from "node:net";
import type { Logger } from "pino";
import { AnomalyLog } from "./anomaly-log.js";
import { ByteBudget } from "./byte-budget.js";
import { Connection, ConnectionCounters } from "./connection.js";
import { DeviceCatalog } from "./device-catalog.js";
import { ServerErrorCode } from "./errors.js";
import type { ResolvedServerOptions } from "./options.js";
import type { PeerCredentials } from "./peer-credentials.js";
import type { ProcessLiveness } from "./process-liveness.js";
import { DEFAULT_REAPER_OPTIONS, Reaper } from "./reaper.js";
import { Registry } from "./registry.js";
import { ReorderBudget } from "./reorder-budget.js";
import { DEFAULT_SEQUENCER_OPTIONS, SequencerCounters } from "./sequencer.js";
import type { FigureSource } from "./series/usage-series.js";
import type { SessionPeer } from "./session.js";
import { SessionTable } from "./session-table.js";
import type { LivePool } from "./shards/live-pool.js";
import { SnapshotIntakeBudget } from "./snapshot-collector.js";
import type { TimerScheduler } from "./timers.js";

/** The limits of one ingest (the whole server's, or one shard's share: shards/shard-limits.ts). Plain data. */
export type IngestLimits = Pick<
  ResolvedServerOptions,
  | "graceMs"
  | "sweepIntervalMs"
  | "gapTimeoutMs"
  | "reorderCapacity"
  | "reorderBudgetBytes"
  | "maxDevicesPerSession"
  | "maxContextsPerSession"
  | "maxLiveAllocations"
  | "maxLiveAllocationsPerSession"
  | "maxSessionsPerProcess"
  | "maxSessions"
  | "maxFrameBytes"
  | "helloTimeoutMs"
  | "bufferBudgetBytes"
  | "maxOutboundBytes"
  | "recentAnomalies"
  | "verbose"
>;

export interface IngestDeps {
  log: Logger;
  timers: TimerScheduler;
  liveness: ProcessLiveness;
  /** Where the registry records totals over time (the server's UsageSeries, or a shard's LedgerChanges). */
  figures: FigureSource;
  /** The anomaly log (the server's, or a shard's own); default a new one of `recentAnomalies`. */
  anomalies?: AnomalyLog;
  /** The device catalog; default a new one recording into `anomalies`. */
  catalog?: DeviceCatalog;
  /** With ingest shards: the server-wide live-allocation limit, shared (shards/live-pool.ts). */
  livePool?: LivePool;
}

/** How long a refused or shut-down peer may take to close after our ERROR frame, ms. */
export const CLOSE_TIMEOUT_MS = 2000;

/**
 * Everything that turns client connections into registry state: sessions, sequencers (inside them),
 * the registry, the reaper, and the native connections. The single-thread server has one; with
 * `--ingest-threads N` each shard (a worker thread) has its own (docs/ARCHITECTURE.md).
 */
export class Ingest {
  readonly anomalies: AnomalyLog;
  readonly registry: Registry;
  readonly catalog: DeviceCatalog;
  readonly sequencerCounters = new SequencerCounters();
  readonly connectionCounters = new ConnectionCounters();
  readonly reorderBudget: ReorderBudget;
  readonly sessions: SessionTable;
  readonly reaper: Reaper;
  /** What native connections make the server hold (frames not yet complete, replies not yet read). */
  readonly bufferBudget: ByteBudget;
  private readonly connections = new Set<Connection>();
  private readonly closedSockets = new Set<Promise<void>>();

  constructor(
    private readonly limits: IngestLimits,
    private readonly deps: IngestDeps,
  ) {
    this.anomalies = deps.anomalies ?? new AnomalyLog(limits.recentAnomalies);
    this.registry = new Registry(this.anomalies, deps.figures, {
      limits: {
        maxLiveAllocations: limits.maxLiveAllocations,
        maxLiveAllocationsPerSession: limits.maxLiveAllocationsPerSession,
      },
      ...(deps.livePool === undefined ? {} : { livePool: deps.livePool }),
    });
    this.catalog = deps.catalog ?? new DeviceCatalog(this.anomalies);
    this.reorderBudget = new ReorderBudget(limits.reorderBudgetBytes);
    this.sessions = new SessionTable(
      {
        registry: this.registry,
        anomalies: this.anomalies,
        counters: this.sequencerCounters,
        timers: deps.timers,
        sequencerOptions: {
          reorderCapacity: limits.reorderCapacity,
          gapTimeoutMs: limits.gapTimeoutMs,
          maxSnapshotAllocations: DEFAULT_SEQUENCER_OPTIONS.maxSnapshotAllocations,
        },
        reorderBudget: this.reorderBudget,
        maxContextsPerSession: limits.maxContextsPerSession,
        // Snapshots in progress hold at most as many entries as the registry may hold allocations.
        snapshotIntake: new SnapshotIntakeBudget(limits.maxLiveAllocations),
      },
      this.catalog,
      {
        maxDevicesPerSession: limits.maxDevicesPerSession,
        maxSessionsPerProcess: limits.maxSessionsPerProcess,
        maxSessions: limits.maxSessions,
      },
    );
    this.reaper = new Reaper(this.sessions, deps.liveness, deps.timers, {
      graceMs: limits.graceMs,
      sweepIntervalMs: limits.sweepIntervalMs,
      firstRecheckMs: DEFAULT_REAPER_OPTIONS.firstRecheckMs,
    });
    this.bufferBudget = new ByteBudget(limits.bufferBudgetBytes);
  }

  /** Native connections open now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Serves an admitted socket as a native connection until it closes. */
  accept(socket: Socket, peer: PeerCredentials | undefined): void {
    const { limits, deps } = this;
    const connection = new Connection(socket, {
      sessions: this.sessions,
      anomalies: this.anomalies,
      counters: this.connectionCounters,
      log: deps.log,
      maxFrameBytes: limits.maxFrameBytes,
      logEvents: limits.verbose,
      closeTimeoutMs: CLOSE_TIMEOUT_MS,
      helloTimeoutMs: limits.helloTimeoutMs,
      timers: deps.timers,
      peer,
      budget: this.bufferBudget,
      maxOutboundBytes: limits.maxOutboundBytes,
    });
    this.connections.add(connection);
    const closed = new Promise<void>((resolve) =>
      socket.once("close", () => {
        this.connections.delete(connection);
        this.closedSockets.delete(closed);
        resolve();
      }),
    );
    this.closedSockets.add(closed);
  }

  /** Sends ERROR(SERVER_SHUTTING_DOWN) to every connection and waits until their sockets closed. */
  async closeConnections(): Promise<void> {
    for (const connection of [...this.connections]) {
      (connection as SessionPeer).close(
        ServerErrorCode.SHUTTING_DOWN,
        "the allocation server is shutting down",
      );
    }
    await Promise.all([...this.closedSockets]);
  }

  /** Releases every session (server shutdown: no leak reports). */
  releaseAll(): void {
    for (const session of [...this.sessions.values()]) this.sessions.release(session, "server-shutdown");
  }
}
