import { NO_SLOT } from "./slot-index.js";

const MIN_BUCKETS = 16;
const MAX_BUCKETS = 1 << 30;

/**
 * The bucket heads of one of a ledger's indexes over registry slots (by allocation id, by start address):
 * a chained hash table whose links are a per-slot column of the Registry (`idNext`, `addressNext`), so
 * an entry costs 4 bytes in that column plus at most one 4-byte head (the table keeps count ≤ buckets).
 *
 * Why chains rather than open addressing (slot-index.ts): an insert pushes the slot onto the front of
 * its bucket's chain (no probe), a delete unlinks it (no backward shift), and at a load of at most one
 * a chain holds about one slot. The registry walks the chains itself (its hot path keeps the loops
 * inline); this class owns the heads, the count and the resizes.
 *
 * Order: an insert goes to the front and a resize keeps the relative order of a chain's slots, so among
 * the slots of one key the first met is the one inserted last (the registry's ADDRESS_OVERLAP names it).
 */
export class SlotChains {
  /** Per bucket: the first slot of its chain, or NO_SLOT. */
  heads: Int32Array;
  mask: number;
  /** Slots held. */
  count = 0;

  /**
   * `loadShift`: the table keeps at most 2^-loadShift slots per bucket (0: one per bucket; 1: one per two
   * buckets, shorter chains for 4 more bytes per slot) and shrinks below a quarter of that.
   */
  constructor(private readonly loadShift = 0) {
    this.heads = new Int32Array(MIN_BUCKETS).fill(NO_SLOT);
    this.mask = MIN_BUCKETS - 1;
  }

  get bucketCount(): number {
    return this.mask + 1;
  }

  /** Memory held by the heads, bytes (the links are the registry's columns). */
  get byteLength(): number {
    return this.heads.byteLength;
  }

  /**
   * Puts `slot` at the front of chain `bucket` (its key's hash & mask); past one slot per bucket, doubles
   * the buckets (`hashOf(slot)`: a slot's key hash).
   */
  push(links: Int32Array, bucket: number, slot: number, hashOf: (slot: number) => number): void {
    links[slot] = this.heads[bucket];
    this.heads[bucket] = slot;
    if (++this.count > (this.mask + 1) >>> this.loadShift) this.grow(links, hashOf);
  }

  /** Removes `slot` from chain `bucket`, where it follows `before` (NO_SLOT: it is the head). */
  unlink(links: Int32Array, bucket: number, slot: number, before: number): void {
    if (before === NO_SLOT) this.heads[bucket] = links[slot];
    else links[before] = links[slot];
    this.count--;
    if (this.mask >= MIN_BUCKETS && this.count < (this.mask + 1) >>> (2 + this.loadShift)) this.shrink(links);
  }

  /** Removes `slot`, which must be on chain `bucket`, finding its predecessor first. */
  remove(links: Int32Array, bucket: number, slot: number): void {
    let before = NO_SLOT;
    for (let s = this.heads[bucket]; s !== slot; s = links[s]) before = s;
    this.unlink(links, bucket, slot, before);
  }

  /**
   * Doubles the buckets: each chain splits into two (bucket b and b + old size) in its order.
   * `hashOf(slot)` is the slot's key hash (the bits above the old mask pick the half).
   */
  private grow(links: Int32Array, hashOf: (slot: number) => number): void {
    const oldBuckets = this.mask + 1;
    const buckets = oldBuckets * 2;
    if (buckets > MAX_BUCKETS) throw new RangeError(`SlotChains cannot grow beyond ${MAX_BUCKETS} buckets`);
    const old = this.heads;
    const heads = new Int32Array(buckets).fill(NO_SLOT);
    for (let b = 0; b < oldBuckets; b++) {
      let lowTail = NO_SLOT;
      let highTail = NO_SLOT;
      for (let slot = old[b]; slot !== NO_SLOT; ) {
        const next = links[slot];
        links[slot] = NO_SLOT;
        if ((hashOf(slot) & oldBuckets) === 0) {
          if (lowTail === NO_SLOT) heads[b] = slot;
          else links[lowTail] = slot;
          lowTail = slot;
        } else {
          if (highTail === NO_SLOT) heads[b + oldBuckets] = slot;
          else links[highTail] = slot;
          highTail = slot;
        }
        slot = next;
      }
    }
    this.heads = heads;
    this.mask = buckets - 1;
  }

  /** Halves the buckets: chain b + new size is appended to chain b (no hashing needed). */
  private shrink(links: Int32Array): void {
    const buckets = (this.mask + 1) >>> 1;
    const old = this.heads;
    const heads = old.slice(0, buckets);
    for (let b = 0; b < buckets; b++) {
      const upper = old[b + buckets];
      if (upper === NO_SLOT) continue;
      let tail = heads[b];
      if (tail === NO_SLOT) {
        heads[b] = upper;
        continue;
      }
      while (links[tail] !== NO_SLOT) tail = links[tail];
      links[tail] = upper;
    }
    this.heads = heads;
    this.mask = buckets - 1;
  }

  /** Forgets every slot (their links are left as they are) and returns to the minimum size. */
  clear(): void {
    this.count = 0;
    this.heads = new Int32Array(MIN_BUCKETS).fill(NO_SLOT);
    this.mask = MIN_BUCKETS - 1;
  }
}

/** 2^-32: multiplying by it is exact and cheaper than dividing by 2^32. */
const TWO_POW_MINUS_32 = 1 / 4294967296;

/** 32-bit hash of an integer key in [0, 2^53) (allocation ids): both 32-bit words mixed. */
export function idHash(key: number): number {
  const low = key >>> 0;
  const high = (key * TWO_POW_MINUS_32) >>> 0;
  const h = Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1);
  return h ^ (h >>> 16);
}

/** 32-bit hash of (start address in [0, 2^53), memory type): aligned addresses spread too. */
export function addressHash(address: number, memoryType: number): number {
  const low = address >>> 0;
  const high = (address * TWO_POW_MINUS_32) >>> 0;
  let h = Math.imul(low ^ Math.imul(high ^ memoryType, 0x85ebca6b), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
