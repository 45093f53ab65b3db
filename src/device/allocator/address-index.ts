/**
 * First fit's index of a region's free blocks, in address order: the blocks sit in groups of at most
 * GROUP entries (address, size and slot in contiguous typed arrays over the caller's buffer, plain or
 * shared), and the groups in address order have their largest size and lowest address in two short
 * contiguous arrays, with an upper bound of the maxima per span of SPAN groups above them. The lowest
 * fitting block is a scan of span bounds, of one span's group maxima and of one group; an insertion is a
 * binary search of the groups' lowest addresses and an append to one group.
 *
 * Entries are unordered within a group (since session 8): every entry of group p lies between group p's
 * lowest address and group p + 1's, so a search looks at each of a group's entries (at most GROUP), an
 * insertion appends and a removal moves the group's last entry into the hole, where sorted groups shifted
 * about half a group on each (docs/PERFORMANCE.md "Allocator": +3-6% a pair at ~1k holes, +8% at ~10k).
 * Only a split sorts its group, to halve it by address.
 *
 * Why not the B+ tree (issue 17 item 4, docs/PERFORMANCE.md "Allocator"): at the ~1k to ~10k holes of a
 * fragmented region this keeps every search, insertion and removal to a few sequential scans of
 * contiguous memory, where the tree paid three descents, per-level maxima and fixes of keys above.
 * Placements do not depend on the index's shape: addresses are unique, so any correct ordered index picks
 * the same block (test/device/allocator-reference.test.ts).
 *
 * Groups are referred to by id (group g's entries are at g * GROUP .. g * GROUP + fill - 1) and ordered
 * by position (groupAt, posOf): a split or a merge shifts the short per-position arrays, never entries of
 * other groups. Every group is non-empty unless it is the only one, and any two neighbouring groups hold
 * more than GROUP / 2 entries together, which bounds the groups a capacity needs (groupsFor).
 *
 * Size (why ~530 lines): search, insertion with splits and removal with merges all keep the same group
 * and span arrays consistent; the inspection for tests is in address-index-check.ts.
 */
import { BufferCarver } from "./buffer-carver.js";

/** "No slot". Private: V8 re-reads an exported binding at every use (see NIL in free-tree.ts). */
const NIL = -1;

/** Entries per group: a group's sizes fill two cache lines; a split sorts at most 16 (32: no faster, sorted or unordered). */
const GROUP = 16;
/** Two neighbouring groups holding at most this many entries together are merged. */
const MERGE_AT = GROUP / 2;
/**
 * Groups per span (8 and 16 were no faster at ~1k holes and slower at ~10k). Without spans, ~10k holes
 * were 20% slower than the B+ tree: the search scanned a few hundred group maxima.
 */
const SPAN = 32;
const SPAN_SHIFT = 5;
export const ADDRESS_GROUP = GROUP;
export const ADDRESS_MERGE_AT = MERGE_AT;
export const ADDRESS_SPAN = SPAN;

// Int32 header
const H_COUNT = 0;
/** Groups in use (positions 0 .. H_GROUPS - 1). */
const H_GROUPS = 1;
/** First unused group id (the chain continues through posOf). */
const H_UNUSED = 2;
const HEADER_INTS = 4;

/**
 * Groups a capacity can need: with P >= 2 groups, the floor(P / 2) disjoint neighbouring pairs each hold
 * more than MERGE_AT entries, so P <= 2 * count / (MERGE_AT + 1) + 1; one more for a split in progress.
 */
function groupsFor(capacity: number): number {
  return Math.floor((2 * capacity) / (MERGE_AT + 1)) + 2;
}

function spansFor(groups: number): number {
  return Math.ceil(groups / SPAN);
}

/** The index's arrays, read-only by contract: for the checks in address-index-check.ts. */
export interface AddressIndexArrays {
  count: number;
  groups: number;
  address: Float64Array;
  size: Float64Array;
  ref: Int32Array;
  fill: Int32Array;
  groupAt: Int32Array;
  posOf: Int32Array;
  groupMax: Float64Array;
  groupFirst: Float64Array;
  spanMax: Float64Array;
  groupOf: Int32Array;
}

export class AddressIndex {
  /** Bytes of buffer an index for `capacity` blocks needs (a multiple of 8). */
  static byteLength(capacity: number): number {
    const groups = groupsFor(capacity);
    const entries = groups * GROUP;
    const doubles = 2 * entries + 2 * groups + spansFor(groups);
    const ints = HEADER_INTS + entries + 3 * groups + capacity;
    return doubles * 8 + Math.ceil((ints * 4) / 8) * 8;
  }

  private readonly header: Int32Array;
  /** Per entry: the free block's address, size and slot. */
  private readonly address: Float64Array;
  private readonly size: Float64Array;
  private readonly ref: Int32Array;
  /** Per group id: entries in use. */
  private readonly fill: Int32Array;
  /** Per position: the group id there, its largest size and its lowest address. */
  private readonly groupAt: Int32Array;
  private readonly groupMax: Float64Array;
  private readonly groupFirst: Float64Array;
  /**
   * Per span: an upper bound of groupMax over positions s * SPAN .. s * SPAN + SPAN - 1 (groupMax itself
   * is exact). A group's maximum falling leaves it as it is; a search that finds no fit under it
   * tightens it (respanOne), and moved positions recompute it (respan).
   */
  private readonly spanMax: Float64Array;
  /** Per group id: its position (unused groups: the next unused id). */
  private readonly posOf: Int32Array;
  /** Per block slot: the group holding it (meaningful only while the block is free). */
  private readonly groupOf: Int32Array;
  private readonly groups: number;
  /** The entry the last search returned: a checked hint for the resize or removal that follows. */
  private found = 0;

  constructor(
    buffer: ArrayBufferLike,
    byteOffset: number,
    readonly capacity: number,
  ) {
    const groups = groupsFor(capacity);
    this.groups = groups;
    const carve = new BufferCarver(buffer, byteOffset);
    this.address = carve.doubles(groups * GROUP);
    this.size = carve.doubles(groups * GROUP);
    this.groupMax = carve.doubles(groups);
    this.groupFirst = carve.doubles(groups);
    this.spanMax = carve.doubles(spansFor(groups));
    this.header = carve.ints(HEADER_INTS);
    this.ref = carve.ints(groups * GROUP);
    this.fill = carve.ints(groups);
    this.groupAt = carve.ints(groups);
    this.posOf = carve.ints(groups);
    this.groupOf = carve.ints(capacity);
  }

  /** Empties the index: one empty group. Only the creator of the buffer calls this. */
  format(): void {
    for (let g = 0; g < this.groups; g++) this.posOf[g] = g + 1 < this.groups ? g + 1 : NIL;
    this.header[H_UNUSED] = 0;
    const g = this.takeGroup();
    this.header[H_COUNT] = 0;
    this.header[H_GROUPS] = 1;
    this.groupAt[0] = g;
    this.posOf[g] = 0;
    this.groupMax[0] = 0;
    this.groupFirst[0] = 0;
    this.spanMax.fill(0);
  }

  /** Free blocks in the index. */
  get count(): number {
    return this.header[H_COUNT]!;
  }

  /** Size of the largest free block, bytes (0 when there is none). */
  get largestBytes(): number {
    let m = 0;
    for (let p = 0; p < this.header[H_GROUPS]!; p++) if (this.groupMax[p]! > m) m = this.groupMax[p]!;
    return m;
  }

  /** The lowest-addressed (bottom-up) or highest-addressed free block of at least `n` bytes, or NIL. */
  findFirst(n: number, bottomUp: boolean): number {
    return bottomUp ? this.lowestFitting(n) : this.highestFitting(n);
  }

  /** Adds the free block `slot` at `address` of `sizeBytes` (its address is not in the index). */
  insert(slot: number, address: number, sizeBytes: number): void {
    this.header[H_COUNT]!++;
    const groupFirst = this.groupFirst;
    // The last group whose lowest address is below the new one, or the first group.
    let lo = 0;
    let hi = this.header[H_GROUPS]! - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (groupFirst[mid]! < address) lo = mid;
      else hi = mid - 1;
    }
    const g = this.groupAt[lo]!;
    if (this.fill[g]! === GROUP) {
      this.split(lo, g);
      // The new block goes to whichever half covers its address.
      if (address > groupFirst[lo + 1]!) lo++;
    }
    this.insertInto(lo, slot, address, sizeBytes);
  }

  /** Removes the free block `slot`. */
  remove(slot: number): void {
    this.header[H_COUNT]!--;
    const g = this.groupOf[slot]!;
    const base = g * GROUP;
    const c = this.fill[g]! - 1;
    const e0 = this.entryOf(g, slot);
    const address = this.address;
    const size = this.size;
    const ref = this.ref;
    const removed = size[e0]!;
    const removedAddress = address[e0]!;
    // The group's last entry takes the hole (entries are unordered within a group).
    const last = base + c;
    if (e0 !== last) {
      address[e0] = address[last]!;
      size[e0] = size[last]!;
      ref[e0] = ref[last]!;
    }
    this.fill[g] = c;
    const p = this.posOf[g]!;
    if (removedAddress === this.groupFirst[p] && c > 0) this.groupFirst[p] = this.minAddressOf(base, c);
    if (removed === this.groupMax[p]) this.groupMax[p] = this.maxOf(base, c);
    const positions = this.header[H_GROUPS]!;
    if (positions > 1) this.rebalance(p, g, c, positions);
  }

  /**
   * The free block `slot` now starts at `address` and spans `sizeBytes`; the caller guarantees it did not
   * move past another free block (address order holds).
   */
  resize(slot: number, address: number, sizeBytes: number): void {
    const g = this.groupOf[slot]!;
    const e = this.entryOf(g, slot);
    const p = this.posOf[g]!;
    const old = this.size[e]!;
    // The lowest block stays the lowest: no other free block lies between its old and new start.
    if (this.address[e] === this.groupFirst[p]) this.groupFirst[p] = address;
    this.address[e] = address;
    this.size[e] = sizeBytes;
    const m = this.groupMax[p]!;
    if (sizeBytes > m) this.raise(p, sizeBytes);
    else if (old === m && sizeBytes < old) this.groupMax[p] = this.maxOf(g * GROUP, this.fill[g]!);
  }

  /** The index's arrays and header, read-only by contract: for address-index-check.ts. */
  inspect(): AddressIndexArrays {
    return {
      count: this.header[H_COUNT]!,
      groups: this.header[H_GROUPS]!,
      address: this.address,
      size: this.size,
      ref: this.ref,
      fill: this.fill,
      groupAt: this.groupAt,
      posOf: this.posOf,
      groupMax: this.groupMax,
      groupFirst: this.groupFirst,
      spanMax: this.spanMax,
      groupOf: this.groupOf,
    };
  }

  // ---- search ----

  private lowestFitting(n: number): number {
    const spanMax = this.spanMax;
    const groupMax = this.groupMax;
    const positions = this.header[H_GROUPS]!;
    for (let sp = 0; sp << SPAN_SHIFT < positions; sp++) {
      if (spanMax[sp]! < n) continue;
      const start = sp << SPAN_SHIFT;
      const end = Math.min(start + SPAN, positions);
      let p = start;
      while (p < end && groupMax[p]! < n) p++;
      if (p < end) return this.lowestIn(this.groupAt[p]!, n);
      // The span's bound was stale (a group's maximum fell since): tighten it.
      this.respanOne(sp, positions);
    }
    return NIL;
  }

  private highestFitting(n: number): number {
    const spanMax = this.spanMax;
    const groupMax = this.groupMax;
    const positions = this.header[H_GROUPS]!;
    for (let sp = (positions - 1) >> SPAN_SHIFT; sp >= 0; sp--) {
      if (spanMax[sp]! < n) continue;
      const start = sp << SPAN_SHIFT;
      const end = Math.min(start + SPAN, positions);
      let p = end - 1;
      while (p >= start && groupMax[p]! < n) p--;
      if (p >= start) return this.highestIn(this.groupAt[p]!, n);
      this.respanOne(sp, positions);
    }
    return NIL;
  }

  // ---- entries ----

  /**
   * The slot of group g's lowest-addressed entry of at least `n` bytes; the group's maximum is exact, so
   * there is one. Entries are unordered within a group, so each is looked at (at most GROUP).
   */
  private lowestIn(g: number, n: number): number {
    const size = this.size;
    const address = this.address;
    const end = g * GROUP + this.fill[g]!;
    let best = g * GROUP;
    while (size[best]! < n) best++;
    let bestAddress = address[best]!;
    for (let e = best + 1; e < end; e++) {
      if (size[e]! >= n && address[e]! < bestAddress) {
        best = e;
        bestAddress = address[e]!;
      }
    }
    this.found = best;
    return this.ref[best]!;
  }

  /**
   * lowestIn for the highest-addressed fitting entry. A copy on purpose: one loop with the direction as a
   * factor measured ~2% slower a first-fit pair (session 8).
   */
  private highestIn(g: number, n: number): number {
    const size = this.size;
    const address = this.address;
    const end = g * GROUP + this.fill[g]!;
    let best = g * GROUP;
    while (size[best]! < n) best++;
    let bestAddress = address[best]!;
    for (let e = best + 1; e < end; e++) {
      if (size[e]! >= n && address[e]! > bestAddress) {
        best = e;
        bestAddress = address[e]!;
      }
    }
    this.found = best;
    return this.ref[best]!;
  }

  /** The entry of `slot` in group g: the last search's hint when it still holds, else a scan. */
  private entryOf(g: number, slot: number): number {
    const base = g * GROUP;
    const e = this.found;
    const ref = this.ref;
    if (e >= base && e < base + this.fill[g]! && ref[e] === slot) return e;
    let f = base;
    while (ref[f] !== slot) f++;
    return f;
  }

  /** Appends to the group at position p, which has room and covers the address. */
  private insertInto(p: number, slot: number, address: number, sizeBytes: number): void {
    const g = this.groupAt[p]!;
    const c = this.fill[g]!;
    const e = g * GROUP + c;
    this.address[e] = address;
    this.size[e] = sizeBytes;
    this.ref[e] = slot;
    this.fill[g] = c + 1;
    this.groupOf[slot] = g;
    // Only the first group can receive an address below its lowest (insert's search).
    if (c === 0 || address < this.groupFirst[p]!) this.groupFirst[p] = address;
    if (sizeBytes > this.groupMax[p]!) this.raise(p, sizeBytes);
  }

  /** The group at position p holds a block of m bytes, above its bound: raise its bounds. */
  private raise(p: number, m: number): void {
    this.groupMax[p] = m;
    const sp = p >> SPAN_SHIFT;
    if (m > this.spanMax[sp]!) this.spanMax[sp] = m;
  }

  /** Recomputes the span bounds from position p's span on (positions moved). */
  private respan(p: number): void {
    const positions = this.header[H_GROUPS]!;
    for (let sp = p >> SPAN_SHIFT; sp << SPAN_SHIFT < positions; sp++) this.respanOne(sp, positions);
  }

  /** Sets span sp's bound to its groups' largest maximum. */
  private respanOne(sp: number, positions: number): void {
    const groupMax = this.groupMax;
    const start = sp << SPAN_SHIFT;
    const end = Math.min(start + SPAN, positions);
    let m = 0;
    for (let q = start; q < end; q++) if (groupMax[q]! > m) m = groupMax[q]!;
    this.spanMax[sp] = m;
  }

  /** Lowest address among the `c` (at least 1) entries at `base`. */
  private minAddressOf(base: number, c: number): number {
    const address = this.address;
    let m = address[base]!;
    for (let e = base + 1; e < base + c; e++) if (address[e]! < m) m = address[e]!;
    return m;
  }

  /** Largest size among the `c` entries at `base` (0 when none). */
  private maxOf(base: number, c: number): number {
    const size = this.size;
    let m = 0;
    for (let e = base; e < base + c; e++) if (size[e]! > m) m = size[e]!;
    return m;
  }

  // ---- groups ----

  /** The full group g at position p gives its upper half (by address) to a new group at position p + 1. */
  private split(p: number, g: number): void {
    this.sortByAddress(g);
    const h = this.takeGroup();
    const keep = GROUP >> 1;
    this.moveEntries(g, keep, h, 0, GROUP - keep);
    this.fill[g] = keep;
    this.fill[h] = GROUP - keep;
    this.openPosition(p + 1, h);
    this.groupMax[p] = this.maxOf(g * GROUP, keep);
    this.groupMax[p + 1] = this.maxOf(h * GROUP, GROUP - keep);
    this.groupFirst[p + 1] = this.address[h * GROUP]!;
    this.respan(p);
  }

  /**
   * Group g at position p (of `positions`) now holds c entries: drop it when empty, or merge it with a
   * neighbour when the two hold MERGE_AT or fewer together (which keeps every neighbouring pair above it:
   * before the removal both pairs held more than MERGE_AT).
   */
  private rebalance(p: number, g: number, c: number, positions: number): void {
    if (c === 0) {
      this.closePosition(p);
      this.releaseGroup(g);
      this.respan(p);
      return;
    }
    if (p > 0) {
      const l = this.groupAt[p - 1]!;
      const cl = this.fill[l]!;
      if (cl + c <= MERGE_AT) {
        this.moveEntries(g, 0, l, cl, c);
        this.fill[l] = cl + c;
        if (this.groupMax[p]! > this.groupMax[p - 1]!) this.groupMax[p - 1] = this.groupMax[p]!;
        this.closePosition(p);
        this.releaseGroup(g);
        this.respan(p - 1);
        return;
      }
    }
    if (p + 1 < positions) {
      const r = this.groupAt[p + 1]!;
      const cr = this.fill[r]!;
      if (c + cr <= MERGE_AT) {
        this.moveEntries(r, 0, g, c, cr);
        this.fill[g] = c + cr;
        if (this.groupMax[p + 1]! > this.groupMax[p]!) this.groupMax[p] = this.groupMax[p + 1]!;
        this.closePosition(p + 1);
        this.releaseGroup(r);
        this.respan(p);
      }
    }
  }

  /** Sorts group g's entries by address (insertion sort of at most GROUP entries: only a split needs it). */
  private sortByAddress(g: number): void {
    const base = g * GROUP;
    const end = base + this.fill[g]!;
    const address = this.address;
    const size = this.size;
    const ref = this.ref;
    for (let i = base + 1; i < end; i++) {
      const a = address[i]!;
      const z = size[i]!;
      const r = ref[i]!;
      let j = i;
      while (j > base && address[j - 1]! > a) {
        address[j] = address[j - 1]!;
        size[j] = size[j - 1]!;
        ref[j] = ref[j - 1]!;
        j--;
      }
      address[j] = a;
      size[j] = z;
      ref[j] = r;
    }
  }

  /** Copies n entries from group x's entry i to group y's entry j and points their slots at y. */
  private moveEntries(x: number, i: number, y: number, j: number, n: number): void {
    const from = x * GROUP + i;
    const to = y * GROUP + j;
    for (let d = 0; d < n; d++) {
      const r = this.ref[from + d]!;
      this.address[to + d] = this.address[from + d]!;
      this.size[to + d] = this.size[from + d]!;
      this.ref[to + d] = r;
      this.groupOf[r] = y;
    }
  }

  /** Puts group g at position p, moving the positions from p up by one. */
  private openPosition(p: number, g: number): void {
    const positions = this.header[H_GROUPS]!;
    for (let q = positions; q > p; q--) {
      const moved = this.groupAt[q - 1]!;
      this.groupAt[q] = moved;
      this.posOf[moved] = q;
      this.groupMax[q] = this.groupMax[q - 1]!;
      this.groupFirst[q] = this.groupFirst[q - 1]!;
    }
    this.groupAt[p] = g;
    this.posOf[g] = p;
    this.header[H_GROUPS] = positions + 1;
  }

  /** Removes position p, moving the positions above it down by one. */
  private closePosition(p: number): void {
    const positions = this.header[H_GROUPS]! - 1;
    for (let q = p; q < positions; q++) {
      const moved = this.groupAt[q + 1]!;
      this.groupAt[q] = moved;
      this.posOf[moved] = q;
      this.groupMax[q] = this.groupMax[q + 1]!;
      this.groupFirst[q] = this.groupFirst[q + 1]!;
    }
    this.header[H_GROUPS] = positions;
  }

  /**
   * A group from the unused chain. It cannot be empty (no check): groupsFor() reserves what the
   * neighbouring-pair rule allows for `capacity` entries, plus the one a split takes.
   */
  private takeGroup(): number {
    const g = this.header[H_UNUSED]!;
    this.header[H_UNUSED] = this.posOf[g]!;
    this.fill[g] = 0;
    return g;
  }

  private releaseGroup(g: number): void {
    this.posOf[g] = this.header[H_UNUSED]!;
    this.header[H_UNUSED] = g;
  }
}
