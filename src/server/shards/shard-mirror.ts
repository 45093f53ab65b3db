import type { Logger } from "pino";
import { MEMORY_TYPE_COUNT } from "../../protocol/memory-type.js";
import type { AnomalyKind } from "../anomaly-kind.js";
import { AnomalyLog, type AnomalySubject } from "../anomaly-log.js";
import { ConnectionCounters } from "../connection.js";
import { DeviceCatalog } from "../device-catalog.js";
import type { LeakArchive } from "../leaks/leak-archive.js";
import { saveLeakReport } from "../leaks/leak-recorder.js";
import { DeviceTotals, Ledger, SessionAccount } from "../ledger.js";
import type { RecoveryKind } from "../recovery-kind.js";
import { SequencerCounters } from "../sequencer.js";
import type { UsageSeries } from "../series/usage-series.js";
import type { SessionIdentity, SessionState, SessionView } from "../session.js";
import type { ReleaseReason, SessionTableHooks } from "../session-table.js";
import type { LedgerUpdate, SessionFacts, ShardCounters, ShardUpdate } from "./shard-update.js";

/** A session of an ingest shard, as the main thread knows it from the shard's updates. */
export class MirroredSession implements SessionView {
  readonly account: SessionAccount;
  connectionCount: number;
  readonly identity: SessionIdentity;
  readonly startedAtMs: number;

  constructor(
    facts: SessionFacts,
    /** The shard (index in the pool) that holds the session. */
    readonly shard: number,
  ) {
    this.identity = {
      sessionId: facts.sessionId,
      pid: facts.pid,
      processStartTicks: facts.processStartTicks,
      processName: facts.processName,
      source: facts.source,
    };
    this.account = new SessionAccount(facts.sessionId, facts.pid);
    this.connectionCount = facts.connections;
    this.startedAtMs = facts.startedAtMs;
  }

  get sessionId(): string {
    return this.identity.sessionId;
  }

  get pid(): number {
    return this.identity.pid;
  }

  get state(): SessionState {
    return this.connectionCount > 0 ? "connected" : "disconnected";
  }
}

/** A ledger on the main thread: its totals are the shard's, its live count is given, not indexed. */
class MirroredLedger extends Ledger {
  live = 0;

  override get liveAllocations(): number {
    return this.live;
  }
}

/** The live-allocation limit figures of the summary, summed over shards. */
export interface MirroredLimit {
  readonly maxLive: number;
  readonly maxLivePerSession: number;
  refused: number;
  excusedFrees: number;
  markedCount: number;
}

export interface ShardMirrorDeps {
  /** The server's series: the mirror's devices and ledgers record into it. */
  series: UsageSeries;
  /** The server's anomaly log: shards' records are relayed into it, their counts added. */
  anomalies: AnomalyLog;
  /** Where leak reports go (known once the history database is open). */
  archive(): LeakArchive;
  log: Logger;
  /** Server-wide limits, as configured (each shard holds a share). */
  maxLive: number;
  maxLivePerSession: number;
}

/**
 * The main thread's view of every ingest shard (docs/ARCHITECTURE.md "Ingest on more than one core"):
 * device and session totals, the 1-s series, descriptions, counters and anomalies, built from the
 * shards' updates (shard-update.ts) in the order each shard sent them. It answers what a Registry and a
 * SessionTable answer to the summary, series, history and metrics; single allocations stay in the
 * shards (the queries ask them).
 *
 * A device's total is the sum of its ledgers over every shard. Its series records, per update, the
 * ledger's lowest and highest total of that update shifted by the device's total when the update
 * arrives: one valid order of the events, in which each update's events happen together.
 */
export class ShardMirror {
  readonly catalog: DeviceCatalog;
  readonly sequencerCounters = new SequencerCounters();
  readonly connectionCounters = new ConnectionCounters();
  readonly limit: MirroredLimit;
  private readonly devicesById = new Map<number, DeviceTotals>();
  private readonly sessionsById = new Map<string, MirroredSession>();
  /** Sessions described before they opened (a HELLO describes, then attaches), by id. */
  private readonly subjects = new Map<string, AnomalySubject>();
  private readonly hooks: SessionTableHooks<MirroredSession>[] = [];
  /** Each shard's counters as of its latest update (what the next one's differences are taken from). */
  private readonly latest = new Map<number, ShardCounters>();
  private applied = 0;
  private live = 0;
  private reorder = 0;

  constructor(private readonly deps: ShardMirrorDeps) {
    // Conflicting descriptions are recorded by the shard that sees them (its own catalog).
    this.catalog = new DeviceCatalog(new AnomalyLog(0));
    this.limit = {
      maxLive: deps.maxLive,
      maxLivePerSession: deps.maxLivePerSession,
      refused: 0,
      excusedFrees: 0,
      markedCount: 0,
    };
  }

  listen(hooks: SessionTableHooks<MirroredSession>): void {
    this.hooks.push(hooks);
  }

  get eventsApplied(): number {
    return this.applied;
  }

  get liveAllocations(): number {
    return this.live;
  }

  /** Bytes the shards' reorder buffers hold now. */
  get reorderBytes(): number {
    return this.reorder;
  }

  get size(): number {
    return this.sessionsById.size;
  }

  get(sessionId: string): MirroredSession | undefined {
    return this.sessionsById.get(sessionId);
  }

  values(): IterableIterator<MirroredSession> {
    return this.sessionsById.values();
  }

  findDevice(deviceId: number): DeviceTotals | undefined {
    return this.devicesById.get(deviceId);
  }

  devices(): IterableIterator<DeviceTotals> {
    return this.devicesById.values();
  }

  /** Shards holding a ledger of `deviceId` (where its single allocations are). */
  shardsOf(deviceId: number): Set<number> {
    const shards = new Set<number>();
    for (const ledger of this.devicesById.get(deviceId)?.ledgers ?? []) {
      const session = this.sessionsById.get(ledger.account.sessionId);
      if (session !== undefined) shards.add(session.shard);
    }
    return shards;
  }

  /** Applies one update of `shard`, note by note. */
  apply(shard: number, update: ShardUpdate): void {
    for (const note of update.notes) {
      switch (note.kind) {
        case "ledgers":
          for (const ledger of note.ledgers) this.applyLedger(ledger);
          break;
        case "opened":
          this.opened(shard, note.session, note.reattached);
          break;
        case "connections": {
          const session = this.sessionsById.get(note.sessionId);
          if (session !== undefined) session.connectionCount = note.connections;
          break;
        }
        case "idle":
          this.each(note.sessionId, (h, s) => h.idle?.(s));
          break;
        case "reattached":
          this.each(note.sessionId, (h, s) => h.reattached?.(s));
          break;
        case "releasing":
          this.each(note.sessionId, (h, s) => h.releasing?.(s, note.reason));
          break;
        case "released":
          this.released(note.sessionId, note.reason, note.allocations);
          break;
        case "described":
          this.catalog.describe(note.descriptor, this.subjectOf(note.sessionId));
          this.device(note.descriptor.deviceId);
          break;
        case "forgotten":
          this.catalog.forget(this.subjectOf(note.sessionId), note.deviceIds);
          break;
        case "anomalies":
          for (const record of note.records) this.deps.anomalies.relay(record);
          break;
        case "leak":
          saveLeakReport(note.report, this.deps.archive(), this.deps.log);
          break;
      }
    }
    this.count(shard, update.counters);
  }

  /**
   * `shard` is gone (its worker died, or it is being replaced): its sessions leave without leak reports
   * (their processes did not end: they reconnect to the shard's successor and send snapshots), and the
   * figures that describe the present (open connections, live allocations) drop to what is left.
   */
  dropShard(shard: number): void {
    for (const session of [...this.sessionsById.values()]) {
      if (session.shard !== shard) continue;
      this.each(session.sessionId, (h, s) => h.releasing?.(s, "server-shutdown"));
      // What it described leaves with it (its shard's "forgotten" note will not come).
      this.catalog.forget(this.subjectOf(session.sessionId), [...this.catalog.ids()]);
      this.released(session.sessionId, "server-shutdown", session.account.liveAllocations);
    }
    const before = this.latest.get(shard);
    if (before !== undefined) {
      this.count(shard, {
        ...before,
        liveAllocations: 0,
        overLimit: 0,
        reorderBytes: 0,
        connections: { ...before.connections, open: 0 },
      });
      this.latest.delete(shard);
    }
  }

  private opened(shard: number, facts: SessionFacts, reattached: boolean): void {
    let session = this.sessionsById.get(facts.sessionId);
    if (session === undefined) {
      session = new MirroredSession(facts, shard);
      this.sessionsById.set(facts.sessionId, session);
    }
    session.connectionCount = facts.connections;
    for (const h of this.hooks) h.opened?.(session, reattached);
  }

  private released(sessionId: string, reason: ReleaseReason, allocations: number): void {
    const session = this.sessionsById.get(sessionId);
    this.subjects.delete(sessionId);
    if (session === undefined) return;
    for (const ledger of session.account.ledgers.values()) {
      // The shard's last update emptied the ledger; should it never come (a dead shard), the totals leave.
      if (ledger.liveAllocations !== 0 || ledger.usedBytes.some((b) => b !== 0)) {
        this.applyLedger(emptied(ledger as MirroredLedger));
      }
      ledger.device.ledgers.delete(ledger);
      this.deps.series.close(ledger.series);
    }
    this.sessionsById.delete(sessionId);
    // As SessionTable.release: devices no live session describes or holds are forgotten (the session may
    // have described some it never allocated on).
    for (const deviceId of [...this.devicesById.keys()]) this.forgetDeviceIfUnused(deviceId);
    session.account.released = true;
    for (const h of this.hooks) h.released?.(session, reason, allocations);
  }

  private each(
    sessionId: string,
    call: (hooks: SessionTableHooks<MirroredSession>, s: MirroredSession) => void,
  ) {
    const session = this.sessionsById.get(sessionId);
    if (session === undefined) return;
    for (const h of this.hooks) call(h, session);
  }

  private subjectOf(sessionId: string): AnomalySubject {
    let subject = this.subjects.get(sessionId);
    if (subject === undefined) {
      subject = { sessionId, pid: 0 };
      this.subjects.set(sessionId, subject);
    }
    return subject;
  }

  private device(deviceId: number): DeviceTotals {
    let totals = this.devicesById.get(deviceId);
    if (totals === undefined) {
      totals = new DeviceTotals(deviceId, this.deps.series.open());
      this.devicesById.set(deviceId, totals);
    }
    return totals;
  }

  private forgetDeviceIfUnused(deviceId: number): void {
    const totals = this.devicesById.get(deviceId);
    if (totals === undefined || totals.ledgers.size > 0 || this.catalog.get(deviceId) !== undefined) return;
    this.devicesById.delete(deviceId);
    this.deps.series.close(totals.series);
  }

  private applyLedger(update: LedgerUpdate): void {
    const session = this.sessionsById.get(update.sessionId);
    if (session === undefined) return;
    const account = session.account;
    let ledger = account.ledgers.get(update.deviceId) as MirroredLedger | undefined;
    if (ledger === undefined) {
      const device = this.device(update.deviceId);
      ledger = new MirroredLedger(account, device, this.deps.series.open(), 0);
      account.ledgers.set(update.deviceId, ledger);
      device.ledgers.add(ledger);
    }
    const device = ledger.device;
    for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
      if ((update.touched & (1 << t)) !== 0) {
        const before = ledger.usedBytes[t];
        const shift = device.usedBytes[t] - before;
        const high = shift + update.high[t];
        device.series.record(t, shift + update.low[t]);
        device.series.record(t, high);
        device.series.record(t, shift + update.used[t]);
        if (high > device.peakBytes[t]) device.peakBytes[t] = high;
        device.usedBytes[t] = shift + update.used[t];
        ledger.series.record(t, update.low[t]);
        ledger.series.record(t, update.high[t]);
        ledger.series.record(t, update.used[t]);
        ledger.usedBytes[t] = update.used[t];
      }
      device.allocations[t] += update.allocations[t] - ledger.allocations[t];
      ledger.allocations[t] = update.allocations[t];
      ledger.peakBytes[t] = update.peak[t];
    }
    device.liveAllocations += update.live - ledger.live;
    account.live += update.live - ledger.live;
    ledger.live = update.live;
    ledger.overLimit = update.overLimit;
    ledger.refusedAllocations = update.refused;
  }

  /** Adds what changed in `shard`'s counters since its previous update. */
  private count(shard: number, now: ShardCounters): void {
    const before = this.latest.get(shard);
    this.latest.set(shard, now);
    const d = (pick: (c: ShardCounters) => number) => pick(now) - (before === undefined ? 0 : pick(before));
    this.applied += d((c) => c.eventsApplied);
    this.live += d((c) => c.liveAllocations);
    this.reorder += d((c) => c.reorderBytes);
    this.limit.refused += d((c) => c.allocationsRefused);
    this.limit.excusedFrees += d((c) => c.freesExcused);
    this.limit.markedCount += d((c) => c.overLimit);
    const s = this.sequencerCounters;
    s.staleDiscarded += d((c) => c.sequencer.staleDiscarded);
    s.duplicatesDiscarded += d((c) => c.sequencer.duplicatesDiscarded);
    s.overflowDropped += d((c) => c.sequencer.overflowDropped);
    s.clientDropped += d((c) => c.sequencer.clientDropped);
    s.gaps += d((c) => c.sequencer.gaps);
    s.resyncRequests += d((c) => c.sequencer.resyncRequests);
    s.snapshotsApplied += d((c) => c.sequencer.snapshotsApplied);
    s.snapshotsIgnored += d((c) => c.sequencer.snapshotsIgnored);
    s.snapshotsAborted += d((c) => c.sequencer.snapshotsAborted);
    for (const [kind, n] of differences(now.sequencer.recoveries, before?.sequencer.recoveries)) {
      s.recoveries.add(kind as RecoveryKind, n);
    }
    for (const [kind, n] of differences(now.anomalies, before?.anomalies)) {
      this.deps.anomalies.addCounts(kind as AnomalyKind, n);
    }
    const c = this.connectionCounters;
    c.open += d((x) => x.connections.open);
    c.accepted += d((x) => x.connections.accepted);
    c.protocolErrors += d((x) => x.connections.protocolErrors);
    c.budgetClosures += d((x) => x.connections.budgetClosures);
  }
}

function differences(
  now: Record<string, number>,
  before: Record<string, number> | undefined,
): [string, number][] {
  const out: [string, number][] = [];
  for (const kind of Object.keys(now)) {
    const n = now[kind]! - (before?.[kind] ?? 0);
    if (n !== 0) out.push([kind, n]);
  }
  return out;
}

/** The update that empties a ledger (its shard is gone). */
function emptied(ledger: MirroredLedger): LedgerUpdate {
  const zeros = new Array<number>(MEMORY_TYPE_COUNT).fill(0);
  let touched = 0;
  for (let t = 0; t < MEMORY_TYPE_COUNT; t++) if (ledger.usedBytes[t] !== 0) touched |= 1 << t;
  return {
    sessionId: ledger.account.sessionId,
    deviceId: ledger.deviceId,
    touched,
    low: zeros,
    high: zeros,
    used: zeros,
    peak: Array.from(ledger.peakBytes),
    allocations: zeros,
    live: 0,
    overLimit: false,
    refused: ledger.refusedAllocations,
  };
}
