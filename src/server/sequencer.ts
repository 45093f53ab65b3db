import type { LiveAllocation } from "../protocol/event.js";
import type { AnomalyLog } from "./anomaly-log.js";
import type { Ledger, Registry } from "./registry.js";
import type { TimerScheduler } from "./timers.js";

/** Tunables of every sequencer, validated once at the edge (server options). */
export interface SequencerOptions {
  /**
   * Most events that may wait for a missing sequence number, per (session, device); power of two. The
   * ring starts at min(1024, this) slots and doubles as needed (34 bytes per slot), so a connection
   * that lags others by thousands of events costs memory only while it lags.
   */
  reorderCapacity: number;
  /** How long a missing sequence number is waited for before a resync is requested, ms. */
  gapTimeoutMs: number;
  /** Largest snapshot accepted (live allocations in one SNAPSHOT_BEGIN). */
  maxSnapshotAllocations: number;
}

export const DEFAULT_SEQUENCER_OPTIONS: SequencerOptions = {
  reorderCapacity: 1 << 20,
  // Generous: a connection lagging behind its siblings on a loaded host is not a lost event.
  gapTimeoutMs: 1000,
  maxSnapshotAllocations: 16_000_000,
};

/** Server-wide counters the sequencers add to (reported by the API). */
export class SequencerCounters {
  /** Events with seq already covered by a snapshot (expected in flight during a resync). */
  staleDiscarded = 0;
  /** Events with seq already applied and not covered by any snapshot (DUPLICATE_SEQ anomalies). */
  duplicatesDiscarded = 0;
  /** Events dropped because the reorder buffer was full. */
  overflowDropped = 0;
  /** Gap timeouts (SEQUENCE_GAP anomalies). */
  gaps = 0;
  /** RESYNC_REQUESTs asked of sessions (first requests and retries). */
  resyncRequests = 0;
  snapshotsApplied = 0;
  /** Snapshots older than the state already applied, ignored. */
  snapshotsIgnored = 0;
  /** Snapshots cut off (connection closed) or inconsistent. */
  snapshotsAborted = 0;
}

export interface SequencerDeps {
  registry: Registry;
  ledger: Ledger;
  anomalies: AnomalyLog;
  counters: SequencerCounters;
  timers: TimerScheduler;
  options: SequencerOptions;
  /** Asks the session's client for a snapshot of this device (on any live connection). */
  requestResync: (deviceId: number, reason: string) => void;
}

const OP_ALLOC = 1;
const INITIAL_RING_SLOTS = 1024;
const EMPTY = 0;

/**
 * Applies one (session, device)'s events in sequence order (docs/DESIGN.md invariant 2), whatever order and
 * connection they arrive on.
 *
 * - The registry always reflects exactly the device's state after seq `nextSeq - 1`: nothing is applied
 *   past a hole. Events ahead of the hole wait in a ring indexed by `seq & (capacity - 1)`; the ring covers
 *   the window [base, base + capacity), so slots never collide. It is allocated on the first out-of-order
 *   event (most (session, device) pairs never need it).
 * - A hole not filled within the gap timeout counts a SEQUENCE_GAP and asks for a snapshot; the request
 *   is retried every gap timeout while the sequencer stays stalled.
 * - An event beyond the window is dropped (REORDER_OVERFLOW) and remembered in `lostThrough`: only a
 *   snapshot with a watermark >= it can heal, so a resync is requested at once.
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

  /** Current ring size (power of two, <= maxCapacity) and its index mask. */
  private capacity: number;
  private mask: number;
  private readonly maxCapacity: number;
  private ops: Uint8Array | undefined;
  private types: Uint8Array | undefined;
  private seqs: Float64Array | undefined;
  private ids: Float64Array | undefined;
  private addresses: Float64Array | undefined;
  private sizes: Float64Array | undefined;
  private buffered = 0;

  private gapTimer: unknown;
  private gapSeq = 0;
  private resyncPending = false;

  /** Snapshot being received, or undefined. */
  private snapshot: SnapshotCollector | undefined;
  /** Connections whose current snapshot of this device is being ignored (their chunks and END too). */
  private readonly ignoredSources = new Set<number>();
  private disposed = false;

  constructor(
    readonly deviceId: number,
    private readonly deps: SequencerDeps,
  ) {
    this.maxCapacity = deps.options.reorderCapacity;
    this.capacity = Math.min(INITIAL_RING_SLOTS, this.maxCapacity);
    this.mask = this.capacity - 1;
  }

  /** The next sequence number the sequencer will apply (everything below it is applied or covered). */
  get expectedSeq(): number {
    return this.nextSeq;
  }

  /** Events waiting in the reorder ring. */
  get bufferedEvents(): number {
    return this.buffered;
  }

  /** True while a snapshot of this device is being received. */
  get snapshotInProgress(): boolean {
    return this.snapshot !== undefined;
  }

  /**
   * One event, in whatever order it arrived. `nowMs` (the clock when its batch arrived) stamps the
   * allocations it applies; a batch reads the clock once, not once per event.
   */
  push(
    op: number,
    memoryType: number,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    nowMs: number = this.deps.timers.nowMs(),
  ): void {
    if (seq > this.maxSeqSeen) this.maxSeqSeen = seq;
    const snapshot = this.snapshot;
    if (snapshot !== undefined) {
      if (seq <= snapshot.watermarkSeq) {
        this.deps.counters.staleDiscarded++;
        return;
      }
      this.buffer(op, memoryType, seq, allocationId, address, sizeBytes, snapshot.watermarkSeq + 1);
      return;
    }
    if (seq === this.nextSeq) {
      // The common case: in order, applied at once without touching the ring.
      this.apply(op, memoryType, allocationId, address, sizeBytes, nowMs);
      this.nextSeq++;
      if (this.buffered > 0) this.drain(nowMs);
      return;
    }
    if (seq < this.nextSeq) {
      this.discardOld(seq);
      return;
    }
    this.buffer(op, memoryType, seq, allocationId, address, sizeBytes, this.nextSeq);
    this.armGapTimer();
  }

  /** SNAPSHOT_BEGIN from connection `source`. */
  beginSnapshot(source: number, watermarkSeq: number, totalAllocations: number): void {
    const current = this.snapshot;
    if (watermarkSeq + 1 < this.nextSeq || (current !== undefined && watermarkSeq < current.watermarkSeq)) {
      // Older than what is applied (or than the snapshot in progress): the state we have is newer.
      this.deps.counters.snapshotsIgnored++;
      this.ignoredSources.add(source);
      return;
    }
    if (totalAllocations > this.deps.options.maxSnapshotAllocations) {
      this.ignoredSources.add(source);
      this.deps.anomalies.record(
        "SNAPSHOT_INVALID",
        this.deps.ledger.account,
        this.deviceId,
        `snapshot announces ${totalAllocations} allocations; the limit is ${this.deps.options.maxSnapshotAllocations}`,
      );
      this.deps.counters.snapshotsAborted++;
      return;
    }
    if (current !== undefined && current.source !== source) this.ignoredSources.add(current.source);
    this.ignoredSources.delete(source);
    this.clearGapTimer();
    // Everything up to the watermark is in the snapshot: drop it from the ring now.
    const from = current !== undefined ? current.watermarkSeq + 1 : this.nextSeq;
    this.discardBuffered(from, watermarkSeq);
    this.snapshot = new SnapshotCollector(source, watermarkSeq, totalAllocations);
  }

  /** SNAPSHOT_CHUNK from connection `source`. */
  snapshotChunk(source: number, allocations: readonly LiveAllocation[]): void {
    const snapshot = this.snapshot;
    if (snapshot === undefined || snapshot.source !== source) {
      if (!this.ignoredSources.has(source))
        this.invalidSnapshotPart(source, "SNAPSHOT_CHUNK without SNAPSHOT_BEGIN");
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
      if (!this.ignoredSources.delete(source))
        this.invalidSnapshotPart(source, "SNAPSHOT_END without SNAPSHOT_BEGIN");
      return;
    }
    if (watermarkSeq !== snapshot.watermarkSeq || snapshot.count !== snapshot.totalAllocations) {
      this.abortSnapshot(
        `SNAPSHOT_END (watermark ${watermarkSeq}, ${snapshot.count} allocations received) disagrees with ` +
          `SNAPSHOT_BEGIN (watermark ${snapshot.watermarkSeq}, ${snapshot.totalAllocations} allocations)`,
      );
      return;
    }
    this.snapshot = undefined;
    const { registry, ledger } = this.deps;
    registry.clearLedger(ledger);
    const now = this.deps.timers.nowMs();
    for (let i = 0; i < snapshot.count; i++) {
      registry.allocate(
        ledger,
        snapshot.types[i],
        snapshot.ids[i],
        snapshot.addresses[i],
        snapshot.sizes[i],
        now,
      );
    }
    this.deps.counters.snapshotsApplied++;
    this.lastWatermark = snapshot.watermarkSeq;
    this.nextSeq = snapshot.watermarkSeq + 1;
    this.resyncPending = false;
    if (this.buffered > 0) this.drain(now);
    if (this.lostThrough >= this.nextSeq) {
      // An event newer than the watermark was dropped while we waited: this snapshot cannot heal it.
      this.askForResync(
        `events up to seq ${this.lostThrough} were dropped after watermark ${snapshot.watermarkSeq}`,
      );
    }
    this.armGapTimer();
  }

  /** The connection `source` closed: a snapshot it was sending can never complete. */
  sourceClosed(source: number): void {
    this.ignoredSources.delete(source);
    if (this.snapshot?.source === source)
      this.abortSnapshot("the connection closed in the middle of a snapshot");
  }

  /** Stops timers; the sequencer is never used again. */
  dispose(): void {
    this.disposed = true;
    this.clearGapTimer();
    this.snapshot = undefined;
  }

  private apply(
    op: number,
    memoryType: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    nowMs: number,
  ): void {
    const deps = this.deps;
    if (op === OP_ALLOC)
      deps.registry.allocate(deps.ledger, memoryType, allocationId, address, sizeBytes, nowMs);
    else deps.registry.free(deps.ledger, memoryType, allocationId, sizeBytes);
  }

  /** Applies buffered events from nextSeq on while they are contiguous. */
  private drain(nowMs: number): void {
    const ops = this.ops!;
    const seqs = this.seqs!;
    for (;;) {
      const i = this.nextSeq & this.mask;
      if (ops[i] === EMPTY || seqs[i] !== this.nextSeq) break;
      const op = ops[i];
      ops[i] = EMPTY;
      this.buffered--;
      this.apply(op, this.types![i], this.ids![i], this.addresses![i], this.sizes![i], nowMs);
      this.nextSeq++;
    }
    if (this.buffered === 0) {
      // A ring grown for a lag episode is given back once it empties.
      if (this.capacity >= 16 * INITIAL_RING_SLOTS) this.releaseRing();
      if (this.lostThrough < this.nextSeq) {
        this.clearGapTimer();
        this.resyncPending = false;
      }
    }
  }

  private buffer(
    op: number,
    memoryType: number,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    base: number,
  ): void {
    if (seq >= base + this.maxCapacity) {
      this.deps.counters.overflowDropped++;
      if (seq > this.lostThrough) this.lostThrough = seq;
      if (!this.resyncPending && this.snapshot === undefined) {
        this.deps.anomalies.record(
          "REORDER_OVERFLOW",
          this.deps.ledger.account,
          this.deviceId,
          `seq ${seq} is ${seq - base} ahead of the missing seq ${base}; the reorder buffer holds ${this.maxCapacity}`,
        );
        this.askForResync(`reorder buffer overflow at seq ${seq}`);
      }
      return;
    }
    if (this.ops === undefined) this.allocateRing();
    if (seq >= base + this.capacity) this.growRing(seq - base + 1);
    const i = seq & this.mask;
    if (this.ops![i] !== EMPTY) {
      this.duplicate(seq, "is already waiting in the reorder buffer");
      return;
    }
    this.ops![i] = op;
    this.types![i] = memoryType;
    this.seqs![i] = seq;
    this.ids![i] = allocationId;
    this.addresses![i] = address;
    this.sizes![i] = sizeBytes;
    this.buffered++;
  }

  /** Empties ring entries with seq in [from, to]; they are covered by a snapshot. */
  private discardBuffered(from: number, to: number): void {
    if (this.buffered === 0 || this.ops === undefined) return;
    const last = Math.min(to, from + this.capacity - 1);
    for (let seq = from; seq <= last && this.buffered > 0; seq++) {
      const i = seq & this.mask;
      if (this.ops[i] !== EMPTY && this.seqs![i] === seq) {
        this.ops[i] = EMPTY;
        this.buffered--;
        this.deps.counters.staleDiscarded++;
      }
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

  private abortSnapshot(reason: string): void {
    const snapshot = this.snapshot!;
    this.snapshot = undefined;
    this.ignoredSources.add(snapshot.source);
    this.deps.counters.snapshotsAborted++;
    this.deps.anomalies.record("SNAPSHOT_INVALID", this.deps.ledger.account, this.deviceId, reason);
    // Events up to the watermark were discarded and everything buffered sits in a window that no longer
    // matches nextSeq: forget it all and ask for a new snapshot that covers what we saw.
    if (this.ops !== undefined) this.ops.fill(EMPTY);
    this.buffered = 0;
    if (this.maxSeqSeen > this.lostThrough) this.lostThrough = this.maxSeqSeen;
    if (!this.disposed) this.askForResync(reason);
    this.armGapTimer();
  }

  private invalidSnapshotPart(source: number, detail: string): void {
    this.deps.anomalies.record(
      "SNAPSHOT_INVALID",
      this.deps.ledger.account,
      this.deviceId,
      `${detail} (connection ${source})`,
    );
  }

  private askForResync(reason: string): void {
    this.resyncPending = true;
    this.deps.counters.resyncRequests++;
    this.deps.requestResync(this.deviceId, reason);
  }

  private get stalled(): boolean {
    return this.buffered > 0 || this.lostThrough >= this.nextSeq;
  }

  private armGapTimer(): void {
    if (this.gapTimer !== undefined || this.disposed || this.snapshot !== undefined || !this.stalled) return;
    this.gapSeq = this.nextSeq;
    this.gapTimer = this.deps.timers.set(() => this.onGapTimeout(), this.deps.options.gapTimeoutMs);
  }

  private clearGapTimer(): void {
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
      this.armGapTimer();
      return;
    }
    if (!this.resyncPending) {
      this.deps.counters.gaps++;
      this.deps.anomalies.record(
        "SEQUENCE_GAP",
        this.deps.ledger.account,
        this.deviceId,
        `seq ${this.nextSeq} missing for ${this.deps.options.gapTimeoutMs} ms (${this.buffered} events waiting)`,
      );
      this.askForResync(`sequence gap at seq ${this.nextSeq}`);
    } else {
      this.askForResync(`still waiting for a snapshot (stalled at seq ${this.nextSeq})`);
    }
    this.armGapTimer();
  }

  /**
   * Doubles the ring until it holds `window` slots. Every buffered seq lies in [base, base + old
   * capacity), so re-indexing with the larger mask cannot collide.
   */
  private growRing(window: number): void {
    let capacity = this.capacity;
    while (capacity < window) capacity *= 2;
    const mask = capacity - 1;
    const ops = new Uint8Array(capacity);
    const types = new Uint8Array(capacity);
    const seqs = new Float64Array(capacity);
    const ids = new Float64Array(capacity);
    const addresses = new Float64Array(capacity);
    const sizes = new Float64Array(capacity);
    const oldOps = this.ops!;
    for (let i = 0; i < this.capacity; i++) {
      if (oldOps[i] === EMPTY) continue;
      const seq = this.seqs![i];
      const j = seq & mask;
      ops[j] = oldOps[i];
      types[j] = this.types![i];
      seqs[j] = seq;
      ids[j] = this.ids![i];
      addresses[j] = this.addresses![i];
      sizes[j] = this.sizes![i];
    }
    this.ops = ops;
    this.types = types;
    this.seqs = seqs;
    this.ids = ids;
    this.addresses = addresses;
    this.sizes = sizes;
    this.capacity = capacity;
    this.mask = mask;
  }

  private releaseRing(): void {
    this.ops = this.types = this.seqs = this.ids = this.addresses = this.sizes = undefined;
    this.capacity = Math.min(INITIAL_RING_SLOTS, this.maxCapacity);
    this.mask = this.capacity - 1;
  }

  private allocateRing(): void {
    const n = this.capacity;
    this.ops = new Uint8Array(n);
    this.types = new Uint8Array(n);
    this.seqs = new Float64Array(n);
    this.ids = new Float64Array(n);
    this.addresses = new Float64Array(n);
    this.sizes = new Float64Array(n);
  }
}

/** The allocations of a snapshot in progress, in growable parallel arrays (bounded by the announced total). */
class SnapshotCollector {
  ids = new Float64Array(0);
  types = new Uint8Array(0);
  addresses = new Float64Array(0);
  sizes = new Float64Array(0);
  count = 0;

  constructor(
    readonly source: number,
    readonly watermarkSeq: number,
    readonly totalAllocations: number,
  ) {}

  /** Adds a chunk; false when it would exceed the announced total. */
  add(allocations: readonly LiveAllocation[]): boolean {
    const needed = this.count + allocations.length;
    if (needed > this.totalAllocations) return false;
    if (needed > this.ids.length)
      this.grow(Math.min(this.totalAllocations, Math.max(needed, this.ids.length * 2, 256)));
    for (const a of allocations) {
      const i = this.count++;
      this.ids[i] = a.allocationId;
      this.types[i] = a.memoryType;
      this.addresses[i] = a.address;
      this.sizes[i] = a.sizeBytes;
    }
    return true;
  }

  private grow(capacity: number): void {
    const ids = new Float64Array(capacity);
    ids.set(this.ids.subarray(0, this.count));
    this.ids = ids;
    const types = new Uint8Array(capacity);
    types.set(this.types.subarray(0, this.count));
    this.types = types;
    const addresses = new Float64Array(capacity);
    addresses.set(this.addresses.subarray(0, this.count));
    this.addresses = addresses;
    const sizes = new Float64Array(capacity);
    sizes.set(this.sizes.subarray(0, this.count));
    this.sizes = sizes;
  }
}
