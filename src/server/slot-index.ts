/** The value `get` and `delete` return for an absent key. Stored slots are >= 0. */
export const NO_SLOT = -1;

const MIN_BUCKETS = 16;
/** Buckets are doubled before the table is more than 5/8 full (linear probing degrades beyond that). */
const MAX_LOAD_NUMERATOR = 5;
const MAX_LOAD_DENOMINATOR = 8;
/** Buckets are halved when the table falls below 1/8 full, so a session that shrank gives memory back. */
const MIN_LOAD_DENOMINATOR = 8;
const MAX_BUCKETS = 1 << 30;
/** 2^-32: multiplying by it is exact and cheaper than dividing by 2^32. */
const TWO_POW_MINUS_32 = 1 / 4294967296;

/**
 * An open-addressing hash table from integer keys in [0, 2^53) (allocation ids, device addresses) to
 * registry slots (int32 >= 0): the registry's per-event index.
 *
 * Why not a Map: a Map entry costs ~30-40 bytes of heap plus a boxed number for keys beyond the small
 * integer range, and its lookup is a generic hash walk. Here a bucket is 12 bytes in two typed arrays
 * (key float64, slot int32), nothing is allocated per operation, and the GC never scans the contents.
 *
 * Linear probing with backward-shift deletion: a delete moves later members of the probe run back, so
 * there are no tombstones and a table under endless insert/delete churn never degrades or needs a
 * rebuild. The hash mixes both 32-bit words of the key so that aligned addresses (low bits all zero)
 * and sequential ids spread evenly.
 */
export class SlotIndex {
  private keys: Float64Array;
  /** NO_SLOT marks an empty bucket. */
  private slots: Int32Array;
  private mask: number;
  private count = 0;
  /** Grow when count would exceed this. */
  private growAt: number;
  /** Shrink when count falls below this (0 at the minimum size). */
  private shrinkBelow: number;

  constructor() {
    this.keys = new Float64Array(MIN_BUCKETS);
    this.slots = new Int32Array(MIN_BUCKETS).fill(NO_SLOT);
    this.mask = MIN_BUCKETS - 1;
    this.growAt = (MIN_BUCKETS * MAX_LOAD_NUMERATOR) / MAX_LOAD_DENOMINATOR;
    this.shrinkBelow = 0;
  }

  /** Keys held. */
  get size(): number {
    return this.count;
  }

  /** Buckets allocated (walk 0..bucketCount-1 with slotAt). */
  get bucketCount(): number {
    return this.mask + 1;
  }

  /** Memory held by the buckets, bytes. */
  get byteLength(): number {
    return this.keys.byteLength + this.slots.byteLength;
  }

  /** The slot stored under `key`, or NO_SLOT. */
  get(key: number): number {
    const keys = this.keys;
    const slots = this.slots;
    const mask = this.mask;
    for (let i = bucketOf(key, mask); ; i = (i + 1) & mask) {
      const slot = slots[i];
      if (slot === NO_SLOT || keys[i] === key) return slot;
    }
  }

  has(key: number): boolean {
    return this.get(key) !== NO_SLOT;
  }

  /** Stores `slot` (>= 0) under `key`; returns the slot it replaced, or NO_SLOT when `key` was absent. */
  set(key: number, slot: number): number {
    const keys = this.keys;
    const slots = this.slots;
    const mask = this.mask;
    for (let i = bucketOf(key, mask); ; i = (i + 1) & mask) {
      const old = slots[i];
      if (old === NO_SLOT) {
        this.insertAt(i, key, slot);
        return NO_SLOT;
      }
      if (keys[i] === key) {
        slots[i] = slot;
        return old;
      }
    }
  }

  /**
   * Stores `slot` (>= 0) under `key` unless `key` is present. Returns NO_SLOT when it stored it,
   * else the slot already there (and changes nothing). One probe where `has` + `set` would take two.
   * The probe loop is set()'s with another rule on a hit, written out again so each stays a plain loop.
   */
  insertIfAbsent(key: number, slot: number): number {
    const keys = this.keys;
    const slots = this.slots;
    const mask = this.mask;
    for (let i = bucketOf(key, mask); ; i = (i + 1) & mask) {
      const old = slots[i];
      if (old === NO_SLOT) {
        this.insertAt(i, key, slot);
        return NO_SLOT;
      }
      if (keys[i] === key) return old;
    }
  }

  /** Removes `key`; returns the slot it held, or NO_SLOT when it was absent. */
  delete(key: number): number {
    const keys = this.keys;
    const slots = this.slots;
    const mask = this.mask;
    let hole = bucketOf(key, mask);
    for (;;) {
      const slot = slots[hole];
      if (slot === NO_SLOT) return NO_SLOT;
      if (keys[hole] === key) break;
      hole = (hole + 1) & mask;
    }
    const removed = slots[hole];
    // Backward shift: every later member of the run that may legally sit in the hole moves into it.
    // A member at j whose home bucket is h may move to the hole when the hole lies within [h, j).
    for (let j = (hole + 1) & mask; slots[j] !== NO_SLOT; j = (j + 1) & mask) {
      const home = bucketOf(keys[j], mask);
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        keys[hole] = keys[j];
        slots[hole] = slots[j];
        hole = j;
      }
    }
    slots[hole] = NO_SLOT;
    this.count--;
    if (this.count < this.shrinkBelow) this.resize((mask + 1) / 2);
    return removed;
  }

  /** Slot stored in bucket `bucket` (0 <= bucket < bucketCount), or NO_SLOT for an empty bucket. */
  slotAt(bucket: number): number {
    return this.slots[bucket];
  }

  /** Key stored in bucket `bucket` (meaningful only where slotAt is not NO_SLOT). */
  keyAt(bucket: number): number {
    return this.keys[bucket];
  }

  /** Removes every key and returns to the minimum size. */
  clear(): void {
    this.count = 0;
    this.resize(MIN_BUCKETS);
  }

  private resize(buckets: number): void {
    if (buckets > MAX_BUCKETS) throw new RangeError(`SlotIndex cannot grow beyond ${MAX_BUCKETS} buckets`);
    const oldKeys = this.keys;
    const oldSlots = this.slots;
    this.keys = new Float64Array(buckets);
    this.slots = new Int32Array(buckets).fill(NO_SLOT);
    this.mask = buckets - 1;
    this.growAt = (buckets * MAX_LOAD_NUMERATOR) / MAX_LOAD_DENOMINATOR;
    this.shrinkBelow = buckets > MIN_BUCKETS ? buckets / MIN_LOAD_DENOMINATOR : 0;
    if (this.count === 0) return;
    for (let i = 0; i < oldSlots.length; i++) {
      if (oldSlots[i] !== NO_SLOT) this.insertNew(oldKeys[i], oldSlots[i]);
    }
  }

  /** Fills the empty bucket `i` (the end of `key`'s probe run), growing first when the table is full. */
  private insertAt(i: number, key: number, slot: number): void {
    if (this.count >= this.growAt) {
      this.resize((this.mask + 1) * 2);
      this.insertNew(key, slot);
    } else {
      this.keys[i] = key;
      this.slots[i] = slot;
    }
    this.count++;
  }

  /** Places a key known to be absent, without counting it or checking the load. */
  private insertNew(key: number, slot: number): void {
    const keys = this.keys;
    const slots = this.slots;
    const mask = this.mask;
    let i = bucketOf(key, mask);
    while (slots[i] !== NO_SLOT) i = (i + 1) & mask;
    keys[i] = key;
    slots[i] = slot;
  }
}

/** Home bucket of an integer key in [0, 2^53): both 32-bit words mixed (multiply, xor-shift). */
function bucketOf(key: number, mask: number): number {
  const low = key >>> 0;
  const high = (key * TWO_POW_MINUS_32) >>> 0;
  let h = Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1);
  h ^= h >>> 16;
  return h & mask;
}
