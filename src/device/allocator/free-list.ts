/**
 * The free list of one allocator region (offsets relative to the region base, per bank: the region's
 * banks move in lockstep, so one list serves them all, as in tt-metal's BankManager).
 *
 * Like tt-metal's FreeListOpt it keeps its blocks as a struct of arrays, here typed arrays over one
 * caller-provided buffer, so the very same code works on an ArrayBuffer (one thread) or a
 * SharedArrayBuffer (worker threads behind an Atomics lock). No per-call allocation: every structure is
 * preallocated to `capacity` blocks.
 *
 * Structures, all indexed by block slot:
 * - every block (free or allocated) sits in a doubly linked list in address order (coalescing is O(1));
 * - free blocks also sit in an index chosen when the list is built: for first fit a FreeTree ordered by
 *   address; for best fit SizeBuckets (one list per exact size up to its limit) and, for larger or odd
 *   sizes, a FreeTree ordered by (size, recency);
 * - allocated blocks sit in an open-addressing hash table keyed by address (deallocation by address).
 * Unused slots are chained through `next`.
 */

import { FreeTree, NONE, TreeOrder } from "./free-tree.js";
import { checkFreeTree, freeTreeSlots, freeTreeView } from "./free-tree-check.js";
import { SizeBuckets } from "./size-buckets.js";

export { NONE, TreeOrder };

// Private copies of the exported constants for the hot paths (see NIL in free-tree.ts: V8 re-reads an
// exported binding from its module cell at every use).
const NIL = -1;
const NO_FIT_RESULT = -1;
const TABLE_FULL_RESULT = -2;
const UNUSED = 0;
const FREE = 1;
const ALLOCATED = 2;
const TWO_TO_MINUS_32 = 2 ** -32;

/** allocate() result: no free block is large enough. */
export const NO_FIT = NO_FIT_RESULT;
/** allocate() result: a new block was needed but every slot is in use. */
export const TABLE_FULL = TABLE_FULL_RESULT;

export const SlotState = { UNUSED, FREE, ALLOCATED } as const;

// Int32 header
const H_HEAD = 0;
const H_UNUSED = 1;
const H_ALLOCATED_BLOCKS = 2;
/** Best fit: free blocks in the tree smaller than the buckets' limit (odd sizes; normally none). */
const H_SMALL_IN_TREE = 3;
const HEADER_INTS = 4;
// Float64 header
const F_FREE_BYTES = 0;
/** Best fit: the last recency stamp given (a block's stamp orders it among equal sizes in the tree). */
const F_STAMP = 1;
const HEADER_DOUBLES = 2;

/**
 * Hash table entries for `capacity` blocks: a power of two at least 4/3 of the capacity, so the table is
 * at most 3/4 full even with every slot allocated, and stays small (it is probed at random: its size is
 * what the cache has to hold).
 */
function tableSizeFor(capacity: number): number {
  let size = 16;
  while (size * 3 < capacity * 4) size *= 2;
  return size;
}

function roundUp8(bytes: number): number {
  return Math.ceil(bytes / 8) * 8;
}

export class FreeList {
  /** Bytes of buffer a list of `capacity` blocks needs (a multiple of 8). */
  static byteLength(capacity: number): number {
    const doubles = HEADER_DOUBLES + 4 * capacity;
    const ints = HEADER_INTS + 2 * capacity + tableSizeFor(capacity);
    return (
      FreeTree.byteLength(capacity) +
      SizeBuckets.byteLength(capacity) +
      roundUp8(doubles * 8 + ints * 4 + 2 * capacity)
    );
  }

  private readonly header: Int32Array;
  private readonly headerF: Float64Array;
  private readonly address: Float64Array;
  private readonly size: Float64Array;
  private readonly allocationIds: Float64Array;
  private readonly requested: Float64Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly table: Int32Array;
  private readonly state: Uint8Array;
  private readonly tags: Uint8Array;
  private readonly tableMask: number;
  private readonly tableShift: number;
  private readonly tree: FreeTree;
  private readonly buckets: SizeBuckets;
  private readonly bestFit: boolean;

  /**
   * @param buffer shared or plain; the list lives at [byteOffset, byteOffset + byteLength(capacity)),
   *   byteOffset a multiple of 8.
   * @param sizeBytes size of the region in each bank.
   * @param order BY_ADDRESS for first fit, BY_SIZE for best fit: every thread sharing the buffer must agree.
   * @param granuleBytes the region's alignment: every size handed to allocate() is a multiple of it
   *   (best fit lists blocks by size in granules).
   */
  constructor(
    buffer: ArrayBufferLike,
    byteOffset: number,
    readonly capacity: number,
    readonly sizeBytes: number,
    order: TreeOrder,
    granuleBytes: number,
  ) {
    this.tree = new FreeTree(buffer, byteOffset, capacity, order);
    this.bestFit = order === TreeOrder.BY_SIZE;
    let at = byteOffset + FreeTree.byteLength(capacity);
    this.buckets = new SizeBuckets(buffer, at, capacity, granuleBytes);
    at += SizeBuckets.byteLength(capacity);
    const doubles = (count: number): Float64Array => {
      const view = new Float64Array(buffer, at, count);
      at += count * 8;
      return view;
    };
    const ints = (count: number): Int32Array => {
      const view = new Int32Array(buffer, at, count);
      at += count * 4;
      return view;
    };
    this.headerF = doubles(HEADER_DOUBLES);
    this.address = doubles(capacity);
    this.size = doubles(capacity);
    this.allocationIds = doubles(capacity);
    this.requested = doubles(capacity);
    this.header = ints(HEADER_INTS);
    this.prev = ints(capacity);
    this.next = ints(capacity);
    const tableSize = tableSizeFor(capacity);
    this.table = ints(tableSize);
    this.tableMask = tableSize - 1;
    this.tableShift = 32 - Math.log2(tableSize);
    this.state = new Uint8Array(buffer, at, capacity);
    this.tags = new Uint8Array(buffer, at + capacity, capacity);
  }

  /** Initialises an empty region (one free block spanning it). Only the creator of the buffer calls this. */
  format(): void {
    const h = this.header;
    for (let i = 0; i < this.capacity; i++) {
      this.next[i] = i + 1 < this.capacity ? i + 1 : NIL;
      this.state[i] = UNUSED;
    }
    this.table.fill(0);
    this.tree.format();
    this.buckets.format();
    h[H_HEAD] = NIL;
    h[H_UNUSED] = this.capacity > 0 ? 0 : NIL;
    h[H_ALLOCATED_BLOCKS] = 0;
    h[H_SMALL_IN_TREE] = 0;
    this.headerF[F_FREE_BYTES] = 0;
    this.headerF[F_STAMP] = 0;
    if (this.sizeBytes > 0 && this.capacity > 0) {
      const s = this.takeSlot();
      this.address[s] = 0;
      this.size[s] = this.sizeBytes;
      this.prev[s] = NIL;
      this.next[s] = NIL;
      this.state[s] = FREE;
      this.indexInsert(s, 0, this.sizeBytes);
      h[H_HEAD] = s;
      this.headerF[F_FREE_BYTES] = this.sizeBytes;
    }
  }

  get freeBytes(): number {
    return this.headerF[F_FREE_BYTES]!;
  }
  get freeBlocks(): number {
    return this.tree.count + this.buckets.count;
  }
  get allocatedBlocks(): number {
    return this.header[H_ALLOCATED_BLOCKS]!;
  }
  get largestFreeBytes(): number {
    return Math.max(this.tree.largestBytes, this.buckets.largestBytes);
  }
  /** First block in address order, or NONE. Walk with nextOf(). */
  get firstBlock(): number {
    return this.header[H_HEAD]!;
  }
  nextOf(slot: number): number {
    return this.next[slot]!;
  }
  stateOf(slot: number): number {
    return this.state[slot]!;
  }
  offsetOf(slot: number): number {
    return this.address[slot]!;
  }
  sizeOf(slot: number): number {
    return this.size[slot]!;
  }
  /** The caller's tag byte of an allocated block. */
  tagOf(slot: number): number {
    return this.tags[slot]!;
  }
  allocationIdOf(slot: number): number {
    return this.allocationIds[slot]!;
  }
  requestedBytesOf(slot: number): number {
    return this.requested[slot]!;
  }

  /**
   * Allocates `sizeBytes` (already aligned and at least the minimum) and labels the block with the
   * caller's tag byte, allocation id and requested size.
   * @returns the allocated block's slot, NO_FIT or TABLE_FULL (state unchanged on failure).
   */
  allocate(
    sizeBytes: number,
    bottomUp: boolean,
    tag: number,
    allocationId: number,
    requestedBytes: number,
  ): number {
    const tree = this.tree;
    const f = this.bestFit ? this.findBest(sizeBytes) : tree.findFirst(sizeBytes, bottomUp);
    if (f === NIL) return NO_FIT_RESULT;
    const freeSize = this.size[f]!;
    let a: number;
    if (freeSize === sizeBytes) {
      if (this.bestFit) this.indexRemove(f, freeSize);
      else tree.remove(f);
      a = f;
    } else {
      a = this.takeSlot();
      if (a === NIL) return TABLE_FULL_RESULT;
      const start = this.address[f]!;
      let rest = start;
      if (bottomUp) {
        this.address[a] = start;
        rest = start + sizeBytes;
        this.address[f] = rest;
        this.linkBefore(a, f);
      } else {
        this.address[a] = start + freeSize - sizeBytes;
        this.linkAfter(a, f);
      }
      const restSize = freeSize - sizeBytes;
      this.size[f] = restSize;
      // The free block's start may have moved up, but no other free block lies in between: order holds.
      if (this.bestFit) this.indexResize(f, freeSize, restSize);
      else tree.resize(f, rest, restSize);
    }
    this.size[a] = sizeBytes;
    this.state[a] = ALLOCATED;
    this.tags[a] = tag;
    this.allocationIds[a] = allocationId;
    this.requested[a] = requestedBytes;
    this.header[H_ALLOCATED_BLOCKS]!++;
    this.headerF[F_FREE_BYTES]! -= sizeBytes;
    this.tableInsert(a);
    return a;
  }

  /** Slot of the allocated block at `offset`, or NONE. */
  find(offset: number): number {
    let i = this.hash(offset);
    for (;;) {
      const v = this.table[i]!;
      if (v === 0) return NIL;
      if (this.address[v - 1] === offset) return v - 1;
      i = (i + 1) & this.tableMask;
    }
  }

  /** Frees an allocated block (from find()) and merges it with free neighbours. */
  release(a: number): void {
    const tree = this.tree;
    this.tableRemove(a);
    const blockSize = this.size[a]!;
    this.headerF[F_FREE_BYTES]! += blockSize;
    this.header[H_ALLOCATED_BLOCKS]!--;
    const p = this.prev[a]!;
    const n = this.next[a]!;
    const prevFree = p !== NIL && this.state[p] === FREE;
    const nextFree = n !== NIL && this.state[n] === FREE;
    if (prevFree && nextFree) {
      const nextSize = this.size[n]!;
      if (this.bestFit) this.indexRemove(n, nextSize);
      else tree.remove(n);
      const old = this.size[p]!;
      const merged = old + blockSize + nextSize;
      this.size[p] = merged;
      this.unlink(a);
      this.unlink(n);
      this.releaseSlot(a);
      this.releaseSlot(n);
      if (this.bestFit) this.indexResize(p, old, merged);
      else tree.resize(p, this.address[p]!, merged);
    } else if (prevFree) {
      const old = this.size[p]!;
      const merged = old + blockSize;
      this.size[p] = merged;
      this.unlink(a);
      this.releaseSlot(a);
      if (this.bestFit) this.indexResize(p, old, merged);
      else tree.resize(p, this.address[p]!, merged);
    } else if (nextFree) {
      // Moving the next block's start down to ours keeps the address order: `a` was allocated, not free.
      const start = this.address[a]!;
      const old = this.size[n]!;
      const merged = old + blockSize;
      this.address[n] = start;
      this.size[n] = merged;
      this.unlink(a);
      this.releaseSlot(a);
      if (this.bestFit) this.indexResize(n, old, merged);
      else tree.resize(n, start, merged);
    } else {
      this.state[a] = FREE;
      if (this.bestFit) this.indexInsert(a, this.address[a]!, blockSize);
      else tree.insert(a, this.address[a]!, blockSize);
    }
  }

  /**
   * Describes the first broken invariant of the list, or returns undefined (for tests): the index's own
   * structure, and that it holds exactly the free blocks of the block list with their addresses and sizes
   * (first fit: the tree, in address order; best fit: each block in the list of its size, or in the tree
   * when its size has no list, in size order).
   */
  checkInvariants(): string | undefined {
    const problem = checkFreeTree(this.tree);
    if (problem !== undefined) return `tree: ${problem}`;
    const free: number[] = [];
    for (let s = this.firstBlock; s !== NIL; s = this.next[s]!) {
      if (this.state[s] === FREE) free.push(s);
    }
    const inTree = freeTreeSlots(this.tree);
    if (!this.bestFit) {
      if (this.buckets.count !== 0) return `${this.buckets.count} blocks listed by size under first fit`;
      if (inTree.length !== free.length) return `${inTree.length} blocks in the tree, ${free.length} free`;
      for (let i = 0; i < free.length; i++) {
        if (inTree[i] !== free[i]) return `tree position ${i}: slot ${inTree[i]}, expected ${free[i]}`;
      }
      for (const s of free) {
        const view = freeTreeView(this.tree, s);
        if (view.address !== this.address[s] || view.sizeBytes !== this.size[s]) {
          return `slot ${s}: tree holds ${view.address}+${view.sizeBytes}, list ${this.address[s]}+${this.size[s]}`;
        }
      }
      return undefined;
    }
    const bitmap = this.buckets.checkBitmap();
    if (bitmap !== undefined) return `buckets: ${bitmap}`;
    const where = new Map<number, string>();
    for (const list of this.buckets.lists()) {
      for (const s of list.slots) {
        if (where.has(s)) return `slot ${s} indexed twice`;
        where.set(s, "list");
        if (this.size[s] !== list.sizeBytes)
          return `slot ${s} of ${this.size[s]} B in the ${list.sizeBytes} B list`;
      }
    }
    let smallInTree = 0;
    for (let i = 0; i < inTree.length; i++) {
      const s = inTree[i]!;
      if (where.has(s)) return `slot ${s} indexed twice`;
      where.set(s, "tree");
      const view = freeTreeView(this.tree, s);
      if (view.sizeBytes !== this.size[s])
        return `slot ${s}: tree holds ${view.sizeBytes} B, list ${this.size[s]}`;
      if (this.buckets.listOf(this.size[s]!) >= 0)
        return `slot ${s} of ${this.size[s]} B in the tree, not its list`;
      if (this.size[s]! < this.buckets.limitBytes) smallInTree++;
    }
    if (smallInTree !== this.header[H_SMALL_IN_TREE]) {
      return `${smallInTree} small blocks in the tree, counted ${this.header[H_SMALL_IN_TREE]}`;
    }
    if (where.size !== free.length) return `${where.size} blocks indexed, ${free.length} free`;
    for (const s of free) if (!where.has(s)) return `free slot ${s} is not indexed`;
    return undefined;
  }

  // ---- best fit's index: SizeBuckets, and the tree for sizes without a list ----

  /**
   * The smallest free block of at least `n` bytes; among equal sizes, the one that took its size most
   * recently (the first of its list, or the tree's least key (size, -stamp)).
   */
  private findBest(n: number): number {
    const listed = this.buckets.smallestFitting(n);
    if (listed === NIL) return this.tree.findBest(n, true);
    // Odd sizes below the lists' limit sit in the tree: one of them may be smaller than the listed block.
    if (this.header[H_SMALL_IN_TREE] !== 0) {
      const t = this.tree.findBest(n, true);
      if (t !== NIL && this.size[t]! < this.size[listed]!) return t;
    }
    return listed;
  }

  /** Indexes free block `s` (first fit: by address; best fit: by size, as the most recent of its size). */
  private indexInsert(s: number, address: number, sizeBytes: number): void {
    if (!this.bestFit) {
      this.tree.insert(s, address, sizeBytes);
      return;
    }
    const b = this.buckets.listOf(sizeBytes);
    if (b >= 0) {
      this.buckets.insert(s, b);
      return;
    }
    if (sizeBytes < this.buckets.limitBytes) this.header[H_SMALL_IN_TREE]!++;
    this.tree.insert(s, this.nextRecency(), sizeBytes);
  }

  /** Best fit: takes free block `s` of `sizeBytes` out of the index. */
  private indexRemove(s: number, sizeBytes: number): void {
    const b = this.buckets.listOf(sizeBytes);
    if (b >= 0) {
      this.buckets.remove(s, b);
      return;
    }
    if (sizeBytes < this.buckets.limitBytes) this.header[H_SMALL_IN_TREE]!--;
    this.tree.remove(s);
  }

  /** Best fit: free block `s` changed from `oldBytes` to `sizeBytes` (it becomes the most recent of its size). */
  private indexResize(s: number, oldBytes: number, sizeBytes: number): void {
    const limit = this.buckets.limitBytes;
    if (this.buckets.listOf(oldBytes) < 0 && this.buckets.listOf(sizeBytes) < 0) {
      this.header[H_SMALL_IN_TREE]! += (sizeBytes < limit ? 1 : 0) - (oldBytes < limit ? 1 : 0);
      this.tree.resize(s, this.nextRecency(), sizeBytes);
      return;
    }
    this.indexRemove(s, oldBytes);
    this.indexInsert(s, 0, sizeBytes);
  }

  /** The tree's second key for a block taking its size now: -stamp, so the latest sorts first. */
  private nextRecency(): number {
    const stamp = this.headerF[F_STAMP]! + 1;
    this.headerF[F_STAMP] = stamp;
    return -stamp;
  }

  // ---- block list and slots ----

  private takeSlot(): number {
    const s = this.header[H_UNUSED]!;
    if (s !== NIL) this.header[H_UNUSED] = this.next[s]!;
    return s;
  }

  private releaseSlot(s: number): void {
    this.state[s] = UNUSED;
    this.next[s] = this.header[H_UNUSED]!;
    this.header[H_UNUSED] = s;
  }

  private linkBefore(a: number, f: number): void {
    const p = this.prev[f]!;
    this.prev[a] = p;
    this.next[a] = f;
    if (p === NIL) this.header[H_HEAD] = a;
    else this.next[p] = a;
    this.prev[f] = a;
  }

  private linkAfter(a: number, f: number): void {
    const n = this.next[f]!;
    this.next[a] = n;
    this.prev[a] = f;
    if (n !== NIL) this.prev[n] = a;
    this.next[f] = a;
  }

  private unlink(x: number): void {
    const p = this.prev[x]!;
    const n = this.next[x]!;
    if (p === NIL) this.header[H_HEAD] = n;
    else this.next[p] = n;
    if (n !== NIL) this.prev[n] = p;
  }

  // ---- hash table of allocated blocks, keyed by address (linear probing, backward-shift deletion) ----

  private hash(key: number): number {
    // Fibonacci hashing on the low 32 bits xor the high bits; addresses are multiples of the alignment.
    // (Multiplying by 2^-32 is exact, like the division it replaces, and cheaper.)
    const x = (key >>> 0) ^ ((key * TWO_TO_MINUS_32) >>> 0);
    return Math.imul(x, 0x9e3779b1) >>> this.tableShift;
  }

  private tableInsert(s: number): void {
    let i = this.hash(this.address[s]!);
    while (this.table[i] !== 0) i = (i + 1) & this.tableMask;
    this.table[i] = s + 1;
  }

  private tableRemove(s: number): void {
    const mask = this.tableMask;
    let i = this.hash(this.address[s]!);
    while (this.table[i] !== s + 1) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const v = this.table[j]!;
      if (v === 0) break;
      const home = this.hash(this.address[v - 1]!);
      // The entry at j may move back to the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (!stays) {
        this.table[i] = v;
        i = j;
      }
    }
    this.table[i] = 0;
  }
}
