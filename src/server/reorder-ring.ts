import { EventOp } from "../protocol/event.js";
import { ReorderBudget } from "./reorder-budget.js";

/** Slots a ring takes on its first `put` (at most twice its window); it doubles from here as events wait. */
export const INITIAL_RING_SLOTS = 64;
/** Bytes of one slot: op and memory type (u8), context id (u32), seq, allocation id, address and size (f64). */
export const RING_SLOT_BYTES = 38;
/** A ring larger than this is given back whole once it empties (it grew for a lag episode). */
export const KEPT_RING_SLOTS = 4096;

/** What `ReorderRing.put` did with an event. */
export const RingPut = {
  /** The event waits in the ring. */
  HELD: 0,
  /** Its seq lies at or beyond `base + limit` (further ahead than the window): it was not stored. */
  OVERFLOW: 1,
  /** An event with the same seq is already waiting: it was not stored. */
  OCCUPIED: 2,
  /** Storing it needed more slots than the server-wide ReorderBudget had left: it was not stored. */
  OVER_BUDGET: 3,
} as const;
export type RingPut = (typeof RingPut)[keyof typeof RingPut];

// Private copies for the per-event paths: V8 re-reads an imported or exported binding from its module
// cell at every use, a local constant it folds.
const HELD: RingPut = RingPut.HELD;
const OVERFLOW: RingPut = RingPut.OVERFLOW;
const OCCUPIED: RingPut = RingPut.OCCUPIED;
const OVER_BUDGET: RingPut = RingPut.OVER_BUDGET;
const SLOT_BYTES = RING_SLOT_BYTES;
/** Op value of an empty slot (wire ops start at 1). */
const EMPTY = 0;
const FREE_OP: number = EventOp.FREE;

/**
 * The events of one sequence domain that wait for a missing seq, in structure-of-arrays storage (38
 * bytes per slot, no object per event): an open-addressing table keyed by seq, home slot `seq & mask`,
 * linear probing, at most half full, backward-shift deletion (no tombstones).
 *
 * Memory follows the number of events waiting, never the distance between seqs: a seq far ahead of the
 * missing one costs one slot like any other (docs/PROTOCOL.md 3.3: a client chooses its numbers, so they
 * must not size the server's memory). Only seqs in the window [base, base + limit) are stored, so at most
 * `limit` events wait. The common lag (a run of consecutive seqs) lands in distinct home slots, as in a
 * plain ring. Storage is allocated on the first `put` (most domains never need it), doubles while events
 * wait, reserves every byte from the server-wide ReorderBudget first, and a grown ring is given back
 * once it empties.
 */
export class ReorderRing {
  /** Slots allocated (0 or a power of two) and their index mask. */
  private capacity = 0;
  private mask = 0;
  private ops: Uint8Array | undefined;
  private types: Uint8Array | undefined;
  private seqs: Float64Array | undefined;
  private ids: Float64Array | undefined;
  private addresses: Float64Array | undefined;
  private sizes: Float64Array | undefined;
  private contexts: Uint32Array | undefined;
  private count = 0;
  private readonly firstSlots: number;

  /**
   * `limit`: the window's width, events (a power of two); `budget`: where the bytes come from (by
   * default a budget of its own without limit, for tests of one ring).
   */
  constructor(
    readonly limit: number,
    private readonly budget: ReorderBudget = new ReorderBudget(Number.POSITIVE_INFINITY),
  ) {
    this.firstSlots = Math.min(INITIAL_RING_SLOTS, 2 * limit);
  }

  /** Events waiting. */
  get size(): number {
    return this.count;
  }

  /** Slots allocated now (0 before the first `put` and after storage is given back). */
  get allocatedSlots(): number {
    return this.capacity;
  }

  /** Bytes held (and reserved from the budget) now. */
  get byteLength(): number {
    return this.capacity * SLOT_BYTES;
  }

  /** Holds one event (`op` non-zero) whose seq lies at or above the window's `base`. */
  // Plain parameters, as in Sequencer.push() (no object per event).
  put(
    op: number,
    memoryType: number,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    base: number,
    contextId = 0,
  ): RingPut {
    if (seq >= base + this.limit) return OVERFLOW;
    if (this.slotOf(seq) >= 0) return OCCUPIED;
    if (2 * (this.count + 1) > this.capacity && !this.grow()) return OVER_BUDGET;
    const ops = this.ops!;
    const seqs = this.seqs!;
    const mask = this.mask;
    let i = seq & mask;
    while (ops[i] !== EMPTY) i = (i + 1) & mask;
    ops[i] = op;
    this.types![i] = memoryType;
    seqs[i] = seq;
    this.ids![i] = allocationId;
    this.addresses![i] = address;
    this.sizes![i] = sizeBytes;
    this.contexts![i] = contextId;
    this.count++;
    return HELD;
  }

  /**
   * Adds the allocation id of every waiting FREE to `into`: frees the client made that an earlier,
   * missing event holds back (a leak report must not count their allocations as held).
   */
  addWaitingFrees(into: Set<number>): void {
    const ops = this.ops;
    if (ops === undefined || this.count === 0) return;
    const ids = this.ids!;
    for (let i = 0; i < this.capacity; i++) if (ops[i] === FREE_OP) into.add(ids[i]);
  }

  /** The slot of the waiting event with `seq` (read it with `opAt` ..., then `remove` it); -1 when none. */
  slotOf(seq: number): number {
    const ops = this.ops;
    if (ops === undefined || this.count === 0) return -1;
    const seqs = this.seqs!;
    const mask = this.mask;
    for (let i = seq & mask; ops[i] !== EMPTY; i = (i + 1) & mask) {
      if (seqs[i] === seq) return i;
    }
    return -1;
  }

  /**
   * Removes the event in `slot` (one `slotOf` returned, not removed since). Later members of its probe
   * run may move into the slot: read the event's fields before removing it.
   */
  remove(slot: number): void {
    const ops = this.ops!;
    const seqs = this.seqs!;
    const mask = this.mask;
    let hole = slot;
    // Backward shift: a member at j whose home slot is h may move into the hole when the hole lies in [h, j).
    for (let j = (hole + 1) & mask; ops[j] !== EMPTY; j = (j + 1) & mask) {
      const home = seqs[j] & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        ops[hole] = ops[j];
        this.types![hole] = this.types![j];
        seqs[hole] = seqs[j];
        this.ids![hole] = this.ids![j];
        this.addresses![hole] = this.addresses![j];
        this.sizes![hole] = this.sizes![j];
        this.contexts![hole] = this.contexts![j];
        hole = j;
      }
    }
    ops[hole] = EMPTY;
    this.count--;
  }

  opAt(slot: number): number {
    return this.ops![slot];
  }

  memoryTypeAt(slot: number): number {
    return this.types![slot];
  }

  allocationIdAt(slot: number): number {
    return this.ids![slot];
  }

  addressAt(slot: number): number {
    return this.addresses![slot];
  }

  sizeBytesAt(slot: number): number {
    return this.sizes![slot];
  }

  contextIdAt(slot: number): number {
    return this.contexts![slot];
  }

  /** Removes the waiting events with seq in [from, to] (from >= the window's base); returns how many. */
  discard(from: number, to: number): number {
    if (this.count === 0 || to < from) return 0;
    const before = this.count;
    if (to - from < this.capacity) {
      for (let seq = from; seq <= to && this.count > 0; seq++) {
        const slot = this.slotOf(seq);
        if (slot >= 0) this.remove(slot);
      }
    } else {
      // A range wider than the table (a snapshot far ahead): walk the slots instead of the seqs.
      this.rehash(this.capacity, from, to);
    }
    return before - this.count;
  }

  /** Forgets every waiting event (the storage is kept). */
  clear(): void {
    if (this.ops !== undefined) this.ops.fill(EMPTY);
    this.count = 0;
  }

  /** Gives back storage grown for a lag episode, once the ring is empty. */
  releaseIfGrown(): void {
    if (this.count === 0 && this.capacity > KEPT_RING_SLOTS) this.release();
  }

  /** Gives back all storage (the sequencer is done with the ring; it may be used again). */
  release(): void {
    this.budget.release(this.capacity * SLOT_BYTES);
    this.ops = this.types = this.seqs = this.ids = this.addresses = this.sizes = undefined;
    this.contexts = undefined;
    this.capacity = 0;
    this.mask = 0;
    this.count = 0;
  }

  /** Doubles the slots (or takes the first ones) if the budget allows; false when it does not. */
  private grow(): boolean {
    const capacity = this.capacity === 0 ? this.firstSlots : this.capacity * 2;
    if (!this.budget.tryReserve((capacity - this.capacity) * SLOT_BYTES)) return false;
    this.rehash(capacity, 1, 0);
    return true;
  }

  /** Moves every waiting event into fresh storage of `capacity` slots, leaving out seqs in [from, to]. */
  private rehash(capacity: number, from: number, to: number): void {
    const oldOps = this.ops;
    const oldTypes = this.types;
    const oldSeqs = this.seqs;
    const oldIds = this.ids;
    const oldAddresses = this.addresses;
    const oldSizes = this.sizes;
    const oldContexts = this.contexts;
    const oldCapacity = this.capacity;
    const mask = capacity - 1;
    const ops = new Uint8Array(capacity);
    const types = new Uint8Array(capacity);
    const seqs = new Float64Array(capacity);
    const ids = new Float64Array(capacity);
    const addresses = new Float64Array(capacity);
    const sizes = new Float64Array(capacity);
    const contexts = new Uint32Array(capacity);
    let count = 0;
    for (let i = 0; i < oldCapacity; i++) {
      if (oldOps![i] === EMPTY) continue;
      const seq = oldSeqs![i];
      if (seq >= from && seq <= to) continue;
      let j = seq & mask;
      while (ops[j] !== EMPTY) j = (j + 1) & mask;
      ops[j] = oldOps![i];
      types[j] = oldTypes![i];
      seqs[j] = seq;
      ids[j] = oldIds![i];
      addresses[j] = oldAddresses![i];
      sizes[j] = oldSizes![i];
      contexts[j] = oldContexts![i];
      count++;
    }
    this.ops = ops;
    this.types = types;
    this.seqs = seqs;
    this.ids = ids;
    this.addresses = addresses;
    this.sizes = sizes;
    this.contexts = contexts;
    this.capacity = capacity;
    this.mask = mask;
    this.count = count;
  }
}
