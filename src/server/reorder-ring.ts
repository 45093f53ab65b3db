/** Slots the ring starts with; it doubles from here as far as its limit while a lag lasts. */
export const INITIAL_RING_SLOTS = 1024;

/** What `ReorderRing.put` did with an event. */
export const RingPut = {
  /** The event waits in the ring. */
  HELD: 0,
  /** Its seq lies at or beyond `base + limit`: it was not stored. */
  OVERFLOW: 1,
  /** An event with the same seq is already waiting: it was not stored. */
  OCCUPIED: 2,
} as const;
export type RingPut = (typeof RingPut)[keyof typeof RingPut];

// Private copies for the per-event paths: V8 re-reads an imported or exported binding from its module
// cell at every use, a local constant it folds.
const HELD: RingPut = RingPut.HELD;
const OVERFLOW: RingPut = RingPut.OVERFLOW;
const OCCUPIED: RingPut = RingPut.OCCUPIED;
/** Op value of an empty slot (wire ops start at 1). */
const EMPTY = 0;
/** A ring at least this large is given back once it empties (it grew for a lag episode). */
const RELEASE_SLOTS = 16 * INITIAL_RING_SLOTS;

/**
 * The events of one sequence domain that wait for a missing seq, in structure-of-arrays storage (34
 * bytes per slot, no object per event) indexed by `seq & (slots - 1)`.
 *
 * Every `put` names the window's base (the lowest seq that may wait: the missing one), and the caller
 * keeps every held seq inside [base, base + slots) as the base moves up (`remove` at the base, or
 * `discard` below a new one), so slots never collide and growing by doubling re-indexes without
 * collisions. Storage is allocated on the first `put` (most domains never need it) and grows by
 * doubling up to `limit` slots, so a domain that lags by thousands of events costs memory only while
 * it lags.
 */
export class ReorderRing {
  /** Current slot count (power of two, <= limit) and its index mask. */
  private capacity: number;
  private mask: number;
  private ops: Uint8Array | undefined;
  private types: Uint8Array | undefined;
  private seqs: Float64Array | undefined;
  private ids: Float64Array | undefined;
  private addresses: Float64Array | undefined;
  private sizes: Float64Array | undefined;
  private count = 0;

  /** `limit`: most events that may wait (the window's width); a power of two. */
  constructor(readonly limit: number) {
    this.capacity = Math.min(INITIAL_RING_SLOTS, limit);
    this.mask = this.capacity - 1;
  }

  /** Events waiting. */
  get size(): number {
    return this.count;
  }

  /** Slots allocated now (0 before the first `put` and after storage is given back). */
  get allocatedSlots(): number {
    return this.ops === undefined ? 0 : this.capacity;
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
  ): RingPut {
    if (seq >= base + this.limit) return OVERFLOW;
    if (this.ops === undefined) this.allocate();
    if (seq >= base + this.capacity) this.grow(seq - base + 1);
    const i = seq & this.mask;
    const ops = this.ops!;
    if (ops[i] !== EMPTY) return OCCUPIED;
    ops[i] = op;
    this.types![i] = memoryType;
    this.seqs![i] = seq;
    this.ids![i] = allocationId;
    this.addresses![i] = address;
    this.sizes![i] = sizeBytes;
    this.count++;
    return HELD;
  }

  /** The slot of the waiting event with `seq` (read it with `opAt` ..., then `remove` it); -1 when none. */
  slotOf(seq: number): number {
    const ops = this.ops;
    if (ops === undefined) return -1;
    const i = seq & this.mask;
    if (ops[i] === EMPTY || this.seqs![i] !== seq) return -1;
    return i;
  }

  /**
   * Removes the event in `slot` (one `slotOf` returned, not removed since). Its fields other than the
   * op stay readable until the next `put`.
   */
  remove(slot: number): void {
    this.ops![slot] = EMPTY;
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

  /** Removes the waiting events with seq in [from, to] (from >= the window's base); returns how many. */
  discard(from: number, to: number): number {
    const ops = this.ops;
    if (this.count === 0 || ops === undefined) return 0;
    const seqs = this.seqs!;
    const last = Math.min(to, from + this.capacity - 1);
    let removed = 0;
    for (let seq = from; seq <= last && this.count > 0; seq++) {
      const i = seq & this.mask;
      if (ops[i] !== EMPTY && seqs[i] === seq) {
        ops[i] = EMPTY;
        this.count--;
        removed++;
      }
    }
    return removed;
  }

  /** Forgets every waiting event (the storage is kept). */
  clear(): void {
    if (this.ops !== undefined) this.ops.fill(EMPTY);
    this.count = 0;
  }

  /** Gives back storage grown for a lag episode, once the ring is empty. */
  releaseIfGrown(): void {
    if (this.count !== 0 || this.capacity < RELEASE_SLOTS) return;
    this.ops = this.types = this.seqs = this.ids = this.addresses = this.sizes = undefined;
    this.capacity = Math.min(INITIAL_RING_SLOTS, this.limit);
    this.mask = this.capacity - 1;
  }

  private allocate(): void {
    const n = this.capacity;
    this.ops = new Uint8Array(n);
    this.types = new Uint8Array(n);
    this.seqs = new Float64Array(n);
    this.ids = new Float64Array(n);
    this.addresses = new Float64Array(n);
    this.sizes = new Float64Array(n);
  }

  /**
   * Doubles the ring until it holds `window` slots. Every held seq lies in [base, base + old
   * capacity), so re-indexing with the larger mask cannot collide.
   */
  private grow(window: number): void {
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
}
