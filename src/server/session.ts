import type { LiveAllocation } from "../protocol/event.js";
import {
  eventAddress,
  eventAllocationId,
  eventContextId,
  eventDeviceId,
  eventMemoryType,
  eventOp,
  eventRecordsView,
  eventSeq,
  eventSizeBytes,
} from "../protocol/event-record.js";
import type { DeviceDescriptor } from "../protocol/frames.js";
import { EVENT_RECORD_BYTES } from "../protocol/layout.js";
import type { AnomalyLog } from "./anomaly-log.js";
import { ContextTable } from "./contexts/context-table.js";
import { ConnectionProtocolError, ServerErrorCode } from "./errors.js";
import type { SessionLinks } from "./gap-rule.js";
import { RecoveryKind } from "./recovery-kind.js";
import type { Ledger, Registry, SessionAccount } from "./registry.js";
import type { ReorderBudget } from "./reorder-budget.js";
import { Sequencer, type SequencerCounters, type SequencerOptions } from "./sequencer.js";
import type { SnapshotIntakeBudget } from "./snapshot-collector.js";
import type { TimerScheduler } from "./timers.js";

/**
 * One link from a session to its process: a native connection, or a legacy adapter's connection.
 * The session never sees sockets, only this.
 */
export interface SessionPeer {
  /** Unique among the server's connections; tags snapshots with the connection that sends them. */
  readonly id: number;
  /** Asks the process for a snapshot of `deviceId` (ALL_DEVICES for every device). */
  requestResync(deviceId: number, reason: string): void;
  /** Closes the link, telling the peer why when the transport can (ERROR frame). */
  close(code: string, message: string): void;
}

/** Who a session is. pid + processStartTicks identify the process even across pid reuse. */
export interface SessionIdentity {
  /** Native: 32 hex chars from HELLO. Other sources choose a key unique among sessions. */
  sessionId: string;
  pid: number;
  /** /proc/<pid>/stat field 22 of the process; 0 when unknown (then only the pid is checked). */
  processStartTicks: number;
  processName: string;
  /** "native", or the adapter that feeds the session (e.g. "legacy"). */
  source: string;
}

/**
 * What the summary, the history and the logs read of a session: a Session, or its mirror on the main
 * thread when the session lives in an ingest shard (shards/shard-mirror.ts).
 */
export interface SessionView {
  readonly identity: SessionIdentity;
  readonly sessionId: string;
  readonly pid: number;
  readonly state: SessionState;
  readonly connectionCount: number;
  readonly account: SessionAccount;
  /** When the session began, ms (the server's clock). */
  readonly startedAtMs: number;
}

export interface SessionDeps {
  registry: Registry;
  anomalies: AnomalyLog;
  counters: SequencerCounters;
  timers: TimerScheduler;
  sequencerOptions: SequencerOptions;
  /** Server-wide bytes for every sequencer's reorder buffer. */
  reorderBudget: ReorderBudget;
  /** Most allocation contexts one session may define (default DEFAULT_MAX_CONTEXTS_PER_SESSION). */
  maxContextsPerSession?: number;
  /** Server-wide entries every snapshot in progress may hold; absent: no server-wide bound. */
  snapshotIntake?: SnapshotIntakeBudget;
}

/**
 * A session's life: `connected` (at least one connection), `disconnected` (no connection, within the
 * reconnect grace period; its memory still counts).
 */
export type SessionState = "connected" | "disconnected";

/**
 * One client process, possibly over several connections. Sequenced sources (the native protocol) call
 * `event` and the snapshot methods: a Sequencer per device puts them in order. Sources without sequence
 * numbers (the legacy tt-metal protocol, one FIFO connection per process) call `allocateUnsequenced` /
 * `freeUnsequenced` with allocation ids they derive from their own identity.
 *
 * Sequenced events and snapshots are accepted only for devices a HELLO of the session announced
 * (`announce`); any other device id is refused with SERVER_UNKNOWN_DEVICE, so that a client cannot make
 * the server keep state for ids it never described.
 */
export class Session implements SessionLinks, SessionView {
  readonly account: SessionAccount;
  /** Allocation contexts the session defined (protocol version 3); registry slots cite them by id. */
  readonly contexts: ContextTable;
  /** When the session began, ms (the server's clock). */
  readonly startedAtMs: number;
  /** GOODBYE received: release at once when the last connection closes. */
  goodbyeReceived = false;
  private released = false;
  private readonly peers: SessionPeer[] = [];
  /** Connection id → when it last delivered a frame, ms (the gap rule waits for one still delivering). */
  private readonly deliveredAtMs = new Map<number, number>();
  private nextPeer = 0;
  /** Device ids announced by the session's HELLOs. */
  private readonly announced = new Set<number>();
  private readonly sequencers = new Map<number, Sequencer>();
  /** Cache of the last device's sequencer: batches are usually runs of one device. */
  private lastDeviceId = -1;
  private lastSequencer: Sequencer | undefined;
  /** Resyncs asked while no connection was open, sent on the next attach. deviceId → reason. */
  private readonly pendingResyncs = new Map<number, string>();
  /**
   * RESYNC_REQUESTs sent and not answered yet by a SNAPSHOT_BEGIN of that device on any connection:
   * deviceId → the connection asked. A request on an open stream is never lost, so asking again before
   * the answer only piles frames up for a client that does not read (the sequencer retries every gap
   * timeout); the entry goes when the snapshot begins or that connection closes.
   */
  private readonly unanswered = new Map<number, SessionPeer>();

  constructor(
    readonly identity: SessionIdentity,
    private readonly deps: SessionDeps,
  ) {
    this.account = deps.registry.openAccount(identity.sessionId, identity.pid);
    this.contexts = new ContextTable(this.account, deps.anomalies, deps.maxContextsPerSession);
    this.startedAtMs = deps.timers.nowMs();
    // Only sources that answer RESYNC_REQUEST with a snapshot can become exact again after a refusal.
    if (identity.source === "native")
      this.account.onUnderLimit = (deviceId) => this.resyncUnderLimit(deviceId);
  }

  get sessionId(): string {
    return this.identity.sessionId;
  }

  get pid(): number {
    return this.identity.pid;
  }

  get connectionCount(): number {
    return this.peers.length;
  }

  get state(): SessionState {
    return this.peers.length > 0 ? "connected" : "disconnected";
  }

  get isReleased(): boolean {
    return this.released;
  }

  /** The connections, for shutdown and reaping. */
  connections(): readonly SessionPeer[] {
    return this.peers;
  }

  /** Device ids the session's HELLOs announced. */
  get announcedDevices(): ReadonlySet<number> {
    return this.announced;
  }

  /** Accepts sequenced events and snapshots of these devices from now on (a HELLO's devices). */
  announce(devices: readonly DeviceDescriptor[]): void {
    for (const device of devices) this.announced.add(device.deviceId);
  }

  // SessionLinks, for the sequencers' gap rule.
  get linkCount(): number {
    return this.peers.length;
  }

  linkId(i: number): number {
    return this.peers[i].id;
  }

  linkDeliveredAtMs(i: number): number {
    return this.deliveredAtMs.get(this.peers[i].id) ?? 0;
  }

  attach(peer: SessionPeer): void {
    this.peers.push(peer);
    this.deliveredAtMs.set(peer.id, this.deps.timers.nowMs());
    if (this.pendingResyncs.size > 0) {
      for (const [deviceId, reason] of this.pendingResyncs) this.ask(peer, deviceId, reason);
      this.pendingResyncs.clear();
    }
  }

  /** Removes the peer; returns the number of connections left. */
  detach(peer: SessionPeer): number {
    const i = this.peers.indexOf(peer);
    if (i >= 0) this.peers.splice(i, 1);
    for (const [deviceId, asked] of this.unanswered) if (asked === peer) this.unanswered.delete(deviceId);
    this.deliveredAtMs.delete(peer.id);
    for (const sequencer of this.sequencers.values()) sequencer.sourceClosed(peer.id);
    return this.peers.length;
  }

  /**
   * Every record of one EVENTS frame from `peer`, in order: the server's per-event loop. Reads the fields
   * straight from the frame bytes (no event object) and the clock once for the whole batch. Throws
   * ConnectionProtocolError (SERVER_UNKNOWN_DEVICE) at the first record of a device no HELLO announced;
   * the records before it are applied.
   */
  events(peer: SessionPeer, records: Uint8Array, count: number): void {
    if (this.released) return;
    const nowMs = this.deps.timers.nowMs();
    const source = peer.id;
    this.deliveredAtMs.set(source, nowMs);
    const view = eventRecordsView(records);
    for (let i = 0, o = 0; i < count; i++, o += EVENT_RECORD_BYTES) {
      const deviceId = eventDeviceId(view, o);
      const sequencer = deviceId === this.lastDeviceId ? this.lastSequencer! : this.sequencer(deviceId);
      // Non-zero only in an ALLOC of a version 3 connection (the decoder checked).
      let contextId = eventContextId(view, o);
      if (contextId !== 0) contextId = this.contexts.resolve(contextId, deviceId, eventAllocationId(view, o));
      sequencer.push(
        source,
        eventOp(view, o),
        eventMemoryType(view, o),
        eventSeq(view, o),
        eventAllocationId(view, o),
        eventAddress(view, o),
        eventSizeBytes(view, o),
        nowMs,
        contextId,
      );
    }
  }

  /** One sequenced event (native EVENTS record) from `peer`; throws as `events` does. */
  event(
    peer: SessionPeer,
    op: number,
    deviceId: number,
    memoryType: number,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    contextId = 0,
  ): void {
    if (this.released) return;
    const nowMs = this.deps.timers.nowMs();
    this.deliveredAtMs.set(peer.id, nowMs);
    const sequencer = deviceId === this.lastDeviceId ? this.lastSequencer! : this.sequencer(deviceId);
    const context = this.contexts.resolve(contextId, deviceId, allocationId);
    sequencer.push(peer.id, op, memoryType, seq, allocationId, address, sizeBytes, nowMs, context);
  }

  /** A CONTEXT frame: defines an allocation context of the session (ContextTable's rules). */
  defineContext(contextId: number, text: string): void {
    if (this.released) return;
    this.contexts.define(contextId, text);
  }

  // Snapshot frames; each throws as `events` does for a device no HELLO announced.
  snapshotBegin(peer: SessionPeer, deviceId: number, watermarkSeq: number, totalAllocations: number): void {
    if (this.released) return;
    this.unanswered.delete(deviceId);
    this.delivered(peer);
    this.sequencer(deviceId).beginSnapshot(peer.id, watermarkSeq, totalAllocations);
  }

  snapshotChunk(peer: SessionPeer, deviceId: number, allocations: readonly LiveAllocation[]): void {
    if (this.released) return;
    this.delivered(peer);
    for (const a of allocations) {
      if (a.contextId !== undefined && a.contextId !== 0) {
        a.contextId = this.contexts.resolve(a.contextId, deviceId, a.allocationId);
      }
    }
    this.sequencer(deviceId).snapshotChunk(peer.id, allocations);
  }

  snapshotEnd(peer: SessionPeer, deviceId: number, watermarkSeq: number): void {
    if (this.released) return;
    this.delivered(peer);
    this.sequencer(deviceId).endSnapshot(peer.id, watermarkSeq);
  }

  /**
   * An allocation from a source without sequence numbers, applied as it comes. `atMs`: when it arrived
   * (a source that reads many at once passes one reading of the clock for all of them); default now.
   */
  allocateUnsequenced(
    deviceId: number,
    memoryType: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    atMs: number = this.deps.timers.nowMs(),
  ): boolean {
    if (this.released) return false;
    return this.deps.registry.allocate(
      this.ledger(deviceId),
      memoryType,
      allocationId,
      address,
      sizeBytes,
      atMs,
    );
  }

  /** A free from a source without sequence numbers; `sizeBytes` < 0 when the source does not send it. */
  freeUnsequenced(deviceId: number, memoryType: number, allocationId: number, sizeBytes: number): boolean {
    if (this.released) return false;
    return this.deps.registry.free(this.ledger(deviceId), memoryType, allocationId, sizeBytes);
  }

  /**
   * Whether a live-allocation limit refused an allocation of the device since its last snapshot (its
   * view is a subset of the process's): adapters then excuse a FREE of an id they do not know.
   */
  isOverLimit(deviceId: number): boolean {
    return this.account.ledgers.get(deviceId)?.overLimit === true;
  }

  /**
   * A FREE of an id the adapter does not know: true (and counted as excused) when the device is over a
   * live-allocation limit, so that the id may be one the limit refused; false: the caller reports it.
   */
  excuseUnknownFree(deviceId: number): boolean {
    const ledger = this.account.ledgers.get(deviceId);
    if (ledger === undefined || !ledger.overLimit) return false;
    this.deps.registry.limit.excuseFree(ledger);
    return true;
  }

  /** Whether an allocation id is live on a device (lets adapters keep their own reference counts). */
  isLive(deviceId: number, allocationId: number): boolean {
    const ledger = this.account.ledgers.get(deviceId);
    return ledger !== undefined && this.deps.registry.has(ledger, allocationId);
  }

  /**
   * Asks for a snapshot on one of the live connections (round robin), or on the next one to attach;
   * not again while an earlier request for the device is unanswered on a connection still open.
   */
  requestResync(deviceId: number, reason: string): void {
    if (this.released) return;
    if (this.peers.length === 0) {
      this.pendingResyncs.set(deviceId, reason);
      return;
    }
    if (this.unanswered.has(deviceId)) return;
    this.ask(this.peers[this.nextPeer++ % this.peers.length], deviceId, reason);
  }

  /**
   * Allocation ids of `deviceId` whose FREE the client sent but an earlier, missing event holds in the
   * reorder buffer: still live in the registry, no longer held by the process.
   */
  waitingFrees(deviceId: number): Set<number> {
    const ids = new Set<number>();
    this.sequencers.get(deviceId)?.addWaitingFrees(ids);
    return ids;
  }

  /** Releases all the session's memory and stops its timers. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const sequencer of this.sequencers.values()) sequencer.dispose();
    this.sequencers.clear();
    this.lastSequencer = undefined;
    this.lastDeviceId = -1;
    this.deps.registry.releaseAccount(this.account);
  }

  /**
   * A device marked over a live-allocation limit is back under the low-water marks: asks for a snapshot
   * (counted as a resync request) unless one is already asked for and unanswered, or being received.
   */
  private resyncUnderLimit(deviceId: number): void {
    if (this.released || this.unanswered.has(deviceId) || this.pendingResyncs.has(deviceId)) return;
    // One is on its way (it clears the mark, or marks the device again if it does not fit).
    if (this.sequencers.get(deviceId)?.snapshotInProgress === true) return;
    this.deps.counters.resyncRequests++;
    this.deps.counters.recoveries.record(RecoveryKind.RESYNC_REQUESTED);
    this.requestResync(
      deviceId,
      "back under the live-allocation limit after refusing allocations: a snapshot makes the view exact",
    );
  }

  private ask(peer: SessionPeer, deviceId: number, reason: string): void {
    this.unanswered.set(deviceId, peer);
    peer.requestResync(deviceId, reason);
  }

  private ledger(deviceId: number): Ledger {
    return this.deps.registry.ledger(this.account, deviceId);
  }

  private delivered(peer: SessionPeer): void {
    this.deliveredAtMs.set(peer.id, this.deps.timers.nowMs());
  }

  private sequencer(deviceId: number): Sequencer {
    let sequencer = this.sequencers.get(deviceId);
    if (sequencer === undefined) {
      if (!this.announced.has(deviceId)) {
        throw new ConnectionProtocolError(
          ServerErrorCode.UNKNOWN_DEVICE,
          `device ${deviceId} was not announced in a HELLO of session ${this.sessionId}; ` +
            "list every device the process reports in its HELLO",
        );
      }
      sequencer = new Sequencer(deviceId, {
        registry: this.deps.registry,
        ledger: this.ledger(deviceId),
        anomalies: this.deps.anomalies,
        counters: this.deps.counters,
        timers: this.deps.timers,
        options: this.deps.sequencerOptions,
        budget: this.deps.reorderBudget,
        intakeBudget: this.deps.snapshotIntake,
        links: this,
        requestResync: (id, reason) => this.requestResync(id, reason),
      });
      this.sequencers.set(deviceId, sequencer);
    }
    this.lastDeviceId = deviceId;
    this.lastSequencer = sequencer;
    return sequencer;
  }
}
