import { EventOp, type LiveAllocation } from "../protocol/event.js";
import { type DeliveryLane, GapRule, GapVerdict } from "./gap-rule.js";
import { RecoveryKind } from "./recovery-kind.js";
import { ReorderRing, RingPut } from "./reorder-ring.js";
import type { SequencerDeps } from "./sequencer-deps.js";
import { SnapshotCollector } from "./snapshot-collector.js";
import { SnapshotIntake } from "./snapshot-intake.js";

export {
  DEFAULT_SEQUENCER_OPTIONS,
  SequencerCounters,
  type SequencerDeps,
  type SequencerOptions,
} from "./sequencer-deps.js";

// Private copies for the per-event paths: V8 re-reads an imported binding from its module cell (with a
// check that it is initialised) at every use, a local constant it folds.
const OP_ALLOC: EventOp = EventOp.ALLOC;
const PUT_HELD: RingPut = RingPut.HELD;
const PUT_OCCUPIED: RingPut = RingPut.OCCUPIED;
const PUT_OVERFLOW: RingPut = RingPut.OVERFLOW;

/**
 * Applies one (session, device)'s events in sequence order (docs/DESIGN.md invariant 2), whatever order and
 * connection they arrive on.
 *
 * - The registry always reflects exactly the device's state after seq `nextSeq - 1`: nothing is applied
 *   past a hole. Events ahead of the hole wait in a `ReorderRing` whose window starts at the hole
 *   (`nextSeq`, or the snapshot's watermark + 1 while one is received).
 * - A hole is declared lost by the GapRule: after the gap timeout, once every live connection has passed
 *   it, or those behind it stayed quiet; while one behind is still delivering, it is waited for. A lost
 *   hole is a GAP_TIMEOUT recovery and asks for a snapshot; the request is retried every gap timeout
 *   while the sequencer stays stalled.
 * - An event beyond the window (FAR_AHEAD), or one the server-wide budget has no room for
 *   (REORDER_OVERFLOW), is dropped and remembered in `lostThrough`: only a snapshot with a watermark >=
 *   it can heal, so a resync is requested at once. These are recoveries, not anomalies: the view is
 *   never wrong, only behind until the snapshot.
 * - Snapshots are watermarked: SNAPSHOT_BEGIN(W) with W >= nextSeq - 1 is accepted. From then on events
 *   with seq <= W are stale (the snapshot holds them) and are discarded, events > W wait in the ring
 *   (window [W + 1, W + capacity]); SNAPSHOT_END swaps the snapshot in, sets nextSeq = W + 1 and drains
 *   the ring. A snapshot older than the applied state (W < nextSeq - 1, e.g. a resync answered after the
 *   hole filled by itself) is ignored: the applied state is already exact and newer.
 */
export class Sequencer {
  /** Next sequence number to apply. */
  private nextSeq = 1;
  /** Highest seq received so far. */
  private maxSeqSeen = 0;
  /** Highest seq known lost (dropped); a snapshot must cover it. 0 = none. */
  private lostThrough = 0;
  /** Watermark of the last snapshot applied (seq <= it are stale, not duplicates). */
  private lastWatermark = 0;

  /** Events ahead of the hole. */
  private readonly ring: ReorderRing;

  private gapTimer: unknown;
  /** The hole the gap timer watches. */
  private gapSeq = 0;
  /** A hole waited for past the gap timeout (a connection behind); its late arrival is GAP_FILLED_LATE. */
  private waitedHole = 0;
  private resyncPending = false;
  private readonly onGapTimer = () => this.onGapTimeout();

  /** Per connection, the highest seq it delivered, and the gap verdicts; `lane` is the last one used. */
  private readonly gapRule: GapRule;
  private lane: DeliveryLane | undefined;

  /** Snapshot being received, or undefined. */
  private snapshot: SnapshotCollector | undefined;
  /** Ignored sources, refusals, the swap into the registry and the client-dropped count. */
  private readonly intake: SnapshotIntake;
  private disposed = false;

  constructor(
    readonly deviceId: number,
    private readonly deps: SequencerDeps,
  ) {
    this.ring = new ReorderRing(deps.options.reorderCapacity, deps.budget);
    this.gapRule = new GapRule(deps.links, deps.options.gapTimeoutMs);
    this.intake = new SnapshotIntake(deviceId, deps);
  }

  /** The next sequence number the sequencer will apply (everything below it is applied or covered). */
  get expectedSeq(): number {
    return this.nextSeq;
  }

  /** Events waiting in the reorder ring. */
  get bufferedEvents(): number {
    return this.ring.size;
  }

  /** Bytes the reorder ring holds. */
  get bufferedBytes(): number {
    return this.ring.byteLength;
  }

  /** True while a snapshot of this device is being received. */
  get snapshotInProgress(): boolean {
    return this.snapshot !== undefined;
  }

  /**
   * One event from connection `source`, in whatever order it arrived. `nowMs` (the clock when its batch
   * arrived) stamps the allocations it applies; a batch reads the clock once, not once per event. Fields
   * as plain parameters in EventFields order, less deviceId (one sequencer per device) and the timestamp
   * (the server stamps arrival): the per-event path builds no object. Repeated on purpose in buffer(),
   * ReorderRing.put() and Session's batch loop.
   */
  push(
    source: number,
    op: number,
    memoryType: number,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    nowMs: number = this.deps.timers.nowMs(),
    contextId = 0,
  ): void {
    let lane = this.lane;
    if (lane === undefined || lane.source !== source) {
      lane = this.gapRule.laneFor(source);
      this.lane = lane;
    }
    if (seq > lane.highSeq) lane.highSeq = seq;
    if (seq > this.maxSeqSeen) this.maxSeqSeen = seq;
    const snapshot = this.snapshot;
    if (snapshot !== undefined) {
      if (seq <= snapshot.watermarkSeq) {
        this.deps.counters.staleDiscarded++;
        return;
      }
      this.buffer(
        op,
        memoryType,
        seq,
        allocationId,
        address,
        sizeBytes,
        snapshot.watermarkSeq + 1,
        contextId,
      );
      return;
    }
    if (seq === this.nextSeq) {
      // The common case: in order, applied at once without touching the ring.
      this.apply(op, memoryType, allocationId, address, sizeBytes, nowMs, contextId);
      this.nextSeq++;
      if (this.ring.size > 0) this.drain(nowMs);
      return;
    }
    if (seq < this.nextSeq) {
      this.discardOld(seq);
      return;
    }
    this.buffer(op, memoryType, seq, allocationId, address, sizeBytes, this.nextSeq, contextId);
    this.armGapTimer();
  }

  /** SNAPSHOT_BEGIN from connection `source`. */
  beginSnapshot(source: number, watermarkSeq: number, totalAllocations: number): void {
    // The client took it after every event up to the watermark: this connection has passed them all.
    const lane = this.gapRule.laneFor(source);
    if (watermarkSeq > lane.highSeq) lane.highSeq = watermarkSeq;
    const current = this.snapshot;
    if (watermarkSeq + 1 < this.nextSeq || (current !== undefined && watermarkSeq < current.watermarkSeq)) {
      // Older than what is applied (or than the snapshot in progress): the state we have is newer.
      this.deps.counters.snapshotsIgnored++;
      this.intake.ignoredSources.add(source);
      return;
    }
    if (this.intake.refuseOversized(source, totalAllocations)) return;
    if (current !== undefined && current.source !== source) this.intake.ignoredSources.add(current.source);
    current?.release();
    this.intake.ignoredSources.delete(source);
    this.clearGapTimer();
    // Everything up to the watermark is in the snapshot: drop it from the ring now.
    const from = current !== undefined ? current.watermarkSeq + 1 : this.nextSeq;
    const held = this.ring.discard(from, watermarkSeq);
    this.deps.counters.staleDiscarded += held;
    const first = this.nextSeq === 1 && this.lastWatermark === 0;
    this.intake.countUnreceived(current !== undefined, watermarkSeq - from + 1 - held, first);
    this.snapshot = new SnapshotCollector(
      source,
      watermarkSeq,
      totalAllocations,
      this.deps.registry.limit.maxLivePerSession,
      this.deps.intakeBudget,
    );
  }

  /** SNAPSHOT_CHUNK from connection `source`. */
  snapshotChunk(source: number, allocations: readonly LiveAllocation[]): void {
    const snapshot = this.snapshot;
    if (snapshot === undefined || snapshot.source !== source) {
      if (!this.intake.ignoredSources.has(source))
        this.intake.invalidPart(source, "SNAPSHOT_CHUNK without SNAPSHOT_BEGIN");
      return;
    }
    if (!snapshot.add(allocations)) {
      this.abortSnapshot(
        `snapshot chunks carry more than the ${snapshot.totalAllocations} allocations SNAPSHOT_BEGIN announced`,
      );
    }
  }

  /** SNAPSHOT_END from connection `source`: swaps the snapshot in. */
  endSnapshot(source: number, watermarkSeq: number): void {
    const snapshot = this.snapshot;
    if (snapshot === undefined || snapshot.source !== source) {
      if (!this.intake.ignoredSources.delete(source))
        this.intake.invalidPart(source, "SNAPSHOT_END without SNAPSHOT_BEGIN");
      return;
    }
    if (watermarkSeq !== snapshot.watermarkSeq || !snapshot.complete) {
      this.abortSnapshot(
        `SNAPSHOT_END (watermark ${watermarkSeq}, ${snapshot.count} allocations received) disagrees with ` +
          `SNAPSHOT_BEGIN (watermark ${snapshot.watermarkSeq}, ${snapshot.totalAllocations} allocations)`,
      );
      return;
    }
    this.snapshot = undefined;
    const now = this.deps.timers.nowMs();
    this.intake.install(snapshot, now);
    this.lastWatermark = snapshot.watermarkSeq;
    this.nextSeq = snapshot.watermarkSeq + 1;
    this.resyncPending = false;
    this.waitedHole = 0;
    if (this.ring.size > 0) this.drain(now);
    if (this.lostThrough >= this.nextSeq) {
      // An event newer than the watermark was dropped while we waited: this snapshot cannot heal it.
      this.askForResync(
        `events up to seq ${this.lostThrough} were dropped after watermark ${snapshot.watermarkSeq}`,
      );
    }
    this.armGapTimer();
  }

  /** The connection `source` closed: a snapshot it was sending can never complete. */
  /** Adds the allocation ids of the FREEs waiting in the reorder buffer to `into`. */
  addWaitingFrees(into: Set<number>): void {
    this.ring.addWaitingFrees(into);
  }

  sourceClosed(source: number): void {
    this.gapRule.connectionClosed(source);
    if (this.lane?.source === source) this.lane = undefined;
    if (this.snapshot?.source === source) {
      this.deps.counters.recoveries.record(RecoveryKind.SNAPSHOT_INTERRUPTED);
      this.abortSnapshot("the connection closed in the middle of a snapshot", false);
    }
    // After the abort: a closed source is never heard from again, so it need not be ignored either.
    this.intake.ignoredSources.delete(source);
  }

  /** Stops timers and gives the ring's bytes back; the sequencer is never used again. */
  dispose(): void {
    this.disposed = true;
    this.clearGapTimer();
    this.snapshot?.release();
    this.snapshot = undefined;
    this.ring.release();
  }

  private apply(
    op: number,
    memoryType: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    nowMs: number,
    contextId: number,
  ): void {
    const deps = this.deps;
    if (op === OP_ALLOC)
      deps.registry.allocate(deps.ledger, memoryType, allocationId, address, sizeBytes, nowMs, contextId);
    else deps.registry.free(deps.ledger, memoryType, allocationId, sizeBytes);
  }

  /** Applies buffered events from nextSeq on while they are contiguous. */
  private drain(nowMs: number): void {
    if (this.waitedHole !== 0 && this.nextSeq > this.waitedHole) {
      // The hole a connection behind its siblings kept us waiting for arrived after all.
      this.waitedHole = 0;
      this.deps.counters.recoveries.record(RecoveryKind.GAP_FILLED_LATE);
    }
    const ring = this.ring;
    for (;;) {
      const slot = ring.slotOf(this.nextSeq);
      if (slot < 0) break;
      // Read before remove: removing may move another event into the slot.
      const op = ring.opAt(slot);
      const memoryType = ring.memoryTypeAt(slot);
      const allocationId = ring.allocationIdAt(slot);
      const address = ring.addressAt(slot);
      const sizeBytes = ring.sizeBytesAt(slot);
      const contextId = ring.contextIdAt(slot);
      ring.remove(slot);
      this.apply(op, memoryType, allocationId, address, sizeBytes, nowMs, contextId);
      this.nextSeq++;
    }
    if (ring.size === 0) {
      ring.releaseIfGrown();
      if (this.lostThrough < this.nextSeq) {
        this.clearGapTimer();
        this.resyncPending = false;
      }
    }
  }

  // Plain parameters, as in push() (no object per event).
  private buffer(
    op: number,
    memoryType: number,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    base: number,
    contextId: number,
  ): void {
    const put = this.ring.put(op, memoryType, seq, allocationId, address, sizeBytes, base, contextId);
    if (put === PUT_HELD) return;
    if (put === PUT_OCCUPIED) {
      this.duplicate(seq, "is already waiting in the reorder buffer");
      return;
    }
    // Not stored (beyond the window, or no budget left): lost until a snapshot covers it.
    this.deps.counters.overflowDropped++;
    this.intake.refused();
    if (seq > this.lostThrough) this.lostThrough = seq;
    if (!this.resyncPending && this.snapshot === undefined) {
      const farAhead = put === PUT_OVERFLOW;
      this.deps.counters.recoveries.record(farAhead ? RecoveryKind.FAR_AHEAD : RecoveryKind.REORDER_OVERFLOW);
      this.askForResync(
        farAhead
          ? `seq ${seq} is ${seq - base} ahead of the missing seq ${base}; the reorder window is ${this.ring.limit}`
          : `the server's reorder budget is spent (seq ${seq} could not wait for seq ${base})`,
      );
    }
  }

  private discardOld(seq: number): void {
    if (seq <= this.lastWatermark) this.deps.counters.staleDiscarded++;
    else this.duplicate(seq, `was already applied (next expected ${this.nextSeq})`);
  }

  private duplicate(seq: number, why: string): void {
    this.deps.counters.duplicatesDiscarded++;
    this.deps.anomalies.record("DUPLICATE_SEQ", this.deps.ledger.account, this.deviceId, `seq ${seq} ${why}`);
  }

  /**
   * Drops the snapshot being received and asks for a new one. `invalid`: the client sent something wrong
   * (a SNAPSHOT_INVALID anomaly, and the rest of that connection's snapshot frames are ignored); otherwise
   * it was cut off (its connection closed; the caller counts the recovery).
   */
  private abortSnapshot(reason: string, invalid = true): void {
    const snapshot = this.snapshot!;
    this.snapshot = undefined;
    snapshot.release();
    this.deps.counters.snapshotsAborted++;
    if (invalid) {
      this.intake.ignoredSources.add(snapshot.source);
      this.deps.anomalies.record("SNAPSHOT_INVALID", this.deps.ledger.account, this.deviceId, reason);
    }
    // Events up to the watermark were discarded and everything buffered sits in a window that no longer
    // matches nextSeq: forget it all and ask for a new snapshot that covers what we saw.
    this.ring.clear();
    if (this.maxSeqSeen > this.lostThrough) this.lostThrough = this.maxSeqSeen;
    if (!this.disposed) this.askForResync(reason);
    this.armGapTimer();
  }

  private askForResync(reason: string): void {
    this.resyncPending = true;
    this.deps.counters.resyncRequests++;
    this.deps.counters.recoveries.record(RecoveryKind.RESYNC_REQUESTED);
    this.deps.requestResync(this.deviceId, reason);
  }

  private get stalled(): boolean {
    return this.ring.size > 0 || this.lostThrough >= this.nextSeq;
  }

  private armGapTimer(): void {
    if (this.gapTimer !== undefined || this.disposed || this.snapshot !== undefined || !this.stalled) return;
    this.gapSeq = this.nextSeq;
    const rule = this.gapRule;
    this.gapTimer = this.deps.timers.set(
      this.onGapTimer,
      rule.confirmationDue ? rule.confirmDelayMs : rule.gapTimeoutMs,
    );
  }

  private clearGapTimer(): void {
    this.gapRule.reset();
    if (this.gapTimer !== undefined) {
      this.deps.timers.clear(this.gapTimer);
      this.gapTimer = undefined;
    }
  }

  private onGapTimeout(): void {
    this.gapTimer = undefined;
    if (this.disposed || this.snapshot !== undefined || !this.stalled) return;
    if (this.nextSeq !== this.gapSeq) {
      // The old hole filled; a newer one gets its own full timeout.
      this.gapRule.reset();
      this.armGapTimer();
      return;
    }
    if (this.resyncPending) {
      this.askForResync(`still waiting for a snapshot (stalled at seq ${this.nextSeq})`);
      this.armGapTimer();
      return;
    }
    const hole = this.nextSeq;
    const verdict = this.gapRule.judge(hole, this.deps.timers.nowMs());
    if (verdict === GapVerdict.WAIT) this.waitedHole = hole;
    else if (verdict === GapVerdict.LOST) {
      this.waitedHole = 0;
      this.deps.counters.gaps++;
      this.deps.counters.recoveries.record(RecoveryKind.GAP_TIMEOUT);
      this.askForResync(
        `sequence gap at seq ${hole} (missing for ${this.gapRule.gapTimeoutMs} ms, ${this.ring.size} events waiting)`,
      );
    }
    this.armGapTimer();
  }
}
