import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { DeviceDescriptor } from "../../protocol/frames.js";
import { AnomalyLog, type AnomalyRecord, type AnomalySubject } from "../anomaly-log.js";
import type { AllocationSort, MemoryMapType } from "../api-types.js";
import { DeviceCatalog } from "../device-catalog.js";
import { Ingest, type IngestLimits } from "../ingest.js";
import { buildLeakReport } from "../leaks/leak-report.js";
import { MemoryMapQuery } from "../memory-map/memory-map-query.js";
import type { PeerCredentials } from "../peer-credentials.js";
import type { ProcessLiveness } from "../process-liveness.js";
import { listAllocations } from "../queries.js";
import type { Session } from "../session.js";
import type { TimerScheduler } from "../timers.js";
import { LedgerChanges, type LedgerFigure } from "./ledger-changes.js";
import type { LivePool } from "./live-pool.js";
import {
  ANOMALIES_PER_UPDATE,
  type LedgerUpdate,
  type SessionFacts,
  type ShardCounters,
  type ShardNote,
  type ShardUpdate,
} from "./shard-update.js";

/** A question the main thread asks every shard (synchronously: shard-pool.ts `callAll`). */
export type ShardQuestion =
  | {
      op: "allocations";
      deviceId: number;
      sort: AllocationSort;
      limit: number;
      sessionId: string | undefined;
    }
  | { op: "memory-map"; deviceId: number; memoryType: MemoryMapType; buckets: number };

export interface ShardCoreDeps {
  log: Logger;
  timers: TimerScheduler;
  liveness: ProcessLiveness;
  /** The wall clock, ms since the epoch (leak reports). */
  epochMs: () => number;
  /** Where updates go: a postMessage to the main thread, or the mirror itself for a shard on the main thread. */
  send(update: ShardUpdate): void;
  /** Runs `flush` later, once, after the current work (default setImmediate). */
  defer?: (flush: () => void) => void;
  /** The server-wide live-allocation limit every shard reserves from; absent: this shard's limits alone. */
  livePool?: LivePool;
}

/**
 * One ingest shard: an Ingest whose registry keeps no series (LedgerChanges) and whose every change the
 * main thread learns through ShardUpdates (shard-update.ts), at most one per turn of the event loop.
 * The main thread's mirror (shard-mirror.ts) builds the summary, the series and history from them;
 * what needs single allocations (lists, memory maps) the shard answers when asked (`answer`).
 */
export class ShardCore {
  readonly ingest: Ingest;
  private readonly changes: LedgerChanges;
  private notes: ShardNote[] = [];
  private anomalyRecords: AnomalyRecord[] = [];
  private scheduled = false;
  private readonly maps: MemoryMapQuery;

  constructor(
    limits: IngestLimits,
    private readonly deps: ShardCoreDeps,
  ) {
    this.changes = new LedgerChanges(() => this.schedule());
    const anomalies = new AnomalyLog(limits.recentAnomalies);
    anomalies.onRecord((record) => {
      // The newest ANOMALIES_PER_UPDATE of a flood are listed; all are counted (ShardCounters).
      if (this.anomalyRecords.length === ANOMALIES_PER_UPDATE) this.anomalyRecords.shift();
      this.anomalyRecords.push(record);
      this.schedule();
    });
    const catalog = new NotingCatalog(anomalies, (note) => this.note(note));
    this.ingest = new Ingest(limits, {
      log: deps.log,
      timers: deps.timers,
      liveness: deps.liveness,
      figures: this.changes,
      anomalies,
      catalog,
      ...(deps.livePool === undefined ? {} : { livePool: deps.livePool }),
    });
    const { sessions, registry } = this.ingest;
    sessions.listen({
      opened: (session, reattached) => this.note({ kind: "opened", session: facts(session), reattached }),
      detached: (session) =>
        this.note({
          kind: "connections",
          sessionId: session.sessionId,
          connections: session.connectionCount,
        }),
      idle: (session) => this.note({ kind: "idle", sessionId: session.sessionId }),
      reattached: (session) => this.note({ kind: "reattached", sessionId: session.sessionId }),
      releasing: (session, reason) => {
        if (reason !== "server-shutdown") {
          const report = buildLeakReport(session, reason, registry, {
            nowMs: deps.timers.nowMs(),
            epochMs: deps.epochMs(),
          });
          if (report !== undefined) this.note({ kind: "leak", report });
        }
        this.note({ kind: "releasing", sessionId: session.sessionId, reason });
      },
      released: (session, reason, allocations) =>
        this.note({ kind: "released", sessionId: session.sessionId, reason, allocations }),
    });
    this.maps = new MemoryMapQuery({
      registry,
      catalog,
      processNameOf: (sessionId) => sessions.get(sessionId)?.identity.processName ?? "",
      hostSummaryOf: undefined,
    });
  }

  start(): void {
    this.ingest.reaper.start();
  }

  accept(socket: Socket, peer: PeerCredentials | undefined): void {
    this.ingest.accept(socket, peer);
    // The open-connection count changes with no session note (before a HELLO, or without one).
    this.schedule();
    socket.once("close", () => this.schedule());
  }

  /** What the main thread asked: an answer built from this shard's registry alone. */
  answer(question: ShardQuestion): unknown {
    const { registry, sessions } = this.ingest;
    if (question.op === "allocations") {
      return listAllocations(
        registry,
        question.deviceId,
        question.sort,
        question.limit,
        this.deps.timers.nowMs(),
        question.sessionId,
        (owner, contextId) => sessions.get(owner)?.contexts.text(contextId) ?? "",
      );
    }
    return this.maps.answer({
      deviceId: question.deviceId,
      memoryType: question.memoryType,
      buckets: question.buckets,
      nowMs: this.deps.timers.nowMs(),
    });
  }

  /** Closes every connection (SHUTTING_DOWN), releases every session and sends the last update. */
  async stop(): Promise<void> {
    this.ingest.reaper.stop();
    await this.ingest.closeConnections();
    this.ingest.releaseAll();
    this.flush();
  }

  /** Sends what changed since the last update, if anything did. */
  flush(): void {
    this.scheduled = false;
    this.ingest.registry.giveBackQuota();
    this.takeLedgers();
    if (this.anomalyRecords.length > 0) {
      this.notes.push({ kind: "anomalies", records: this.anomalyRecords });
      this.anomalyRecords = [];
    }
    const notes = this.notes;
    this.notes = [];
    this.deps.send({ notes, counters: this.counters() });
  }

  private note(note: ShardNote): void {
    // Ledger changes before the note happened before it: the mirror must see them first.
    this.takeLedgers();
    this.notes.push(note);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    (this.deps.defer ?? setImmediate)(() => this.flush());
  }

  private takeLedgers(): void {
    if (!this.changes.pending) return;
    const ledgers: LedgerUpdate[] = [];
    for (const figure of this.changes.take()) ledgers.push(ledgerUpdate(figure));
    this.notes.push({ kind: "ledgers", ledgers });
  }

  private counters(): ShardCounters {
    const { registry, sequencerCounters: s, connectionCounters: c, anomalies, reorderBudget } = this.ingest;
    return {
      eventsApplied: registry.eventsApplied,
      liveAllocations: registry.liveAllocations,
      allocationsRefused: registry.limit.refused,
      freesExcused: registry.limit.excusedFrees,
      overLimit: registry.limit.markedCount,
      sequencer: {
        staleDiscarded: s.staleDiscarded,
        duplicatesDiscarded: s.duplicatesDiscarded,
        overflowDropped: s.overflowDropped,
        clientDropped: s.clientDropped,
        gaps: s.gaps,
        resyncRequests: s.resyncRequests,
        snapshotsApplied: s.snapshotsApplied,
        snapshotsIgnored: s.snapshotsIgnored,
        snapshotsAborted: s.snapshotsAborted,
        recoveries: s.recoveries.byKind(),
      },
      connections: {
        open: c.open,
        accepted: c.accepted,
        protocolErrors: c.protocolErrors,
        budgetClosures: c.budgetClosures,
      },
      anomalies: anomalies.byKind(),
      reorderBytes: reorderBudget.usedBytes,
    };
  }
}

function facts(session: Session): SessionFacts {
  const { identity } = session;
  return {
    sessionId: identity.sessionId,
    pid: identity.pid,
    processStartTicks: identity.processStartTicks,
    processName: identity.processName,
    source: identity.source,
    connections: session.connectionCount,
    startedAtMs: session.startedAtMs,
  };
}

function ledgerUpdate(figure: LedgerFigure): LedgerUpdate {
  const { account, deviceId } = figure.owner;
  const ledger = account.ledgers.get(deviceId)!;
  const update: LedgerUpdate = {
    sessionId: account.sessionId,
    deviceId,
    touched: figure.touched,
    low: Array.from(figure.low),
    high: Array.from(figure.high),
    used: Array.from(ledger.usedBytes),
    peak: Array.from(ledger.peakBytes),
    allocations: Array.from(ledger.allocations),
    live: ledger.liveAllocations,
    overLimit: ledger.overLimit,
    refused: ledger.refusedAllocations,
  };
  figure.touched = 0;
  figure.listed = false;
  return update;
}

/** A shard's catalog, telling the main thread what sessions describe and forget. */
class NotingCatalog extends DeviceCatalog {
  constructor(
    anomalies: AnomalyLog,
    private readonly noted: (note: ShardNote) => void,
  ) {
    super(anomalies);
  }

  override describe(descriptor: DeviceDescriptor, subject: AnomalySubject): boolean {
    const described = super.describe(descriptor, subject);
    this.noted({ kind: "described", sessionId: subject.sessionId, descriptor });
    return described;
  }

  override forget(subject: AnomalySubject, deviceIds: Iterable<number>): void {
    const ids = [...deviceIds];
    super.forget(subject, ids);
    this.noted({ kind: "forgotten", sessionId: subject.sessionId, deviceIds: ids });
  }
}
