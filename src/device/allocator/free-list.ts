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
 * - free blocks also sit in an index chosen when the list is built: for first fit an AddressIndex (groups
 *   of blocks in address order with their maxima); for best fit a BestFitIndex (a list per exact size, and
 *   the FreeTree ordered by size for larger or odd sizes). The two share one area of the buffer;
 *   format() sets up only the list's own;
 * - allocated blocks sit in an open-addressing hash table keyed by address (deallocation by address).
 * Unused slots are chained through `next`.
 *
 * Each policy has its own allocate and release (the Allocator calls them directly): first fit's hot path
 * fills V8's cumulative inlining budget, and a branch on the policy there made it spill
 * (docs/PERFORMANCE.md "Allocator"). That is also why the file is ~530 lines: the two policies' paths
 * are written out side by side on purpose, and the inspection for tests is already in free-list-check.ts.
 */

import { AddressIndex } from "./address-index.js";
import { BestFitIndex } from "./best-fit-index.js";
import { BufferCarver } from "./buffer-carver.js";
import { checkFreeIndex } from "./free-list-check.js";
import { FreeTree, NONE } from "./free-tree.js";
import { FitPolicy } from "./types.js";

export { NONE };

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
const HEADER_INTS = 4;
// Float64 header
const F_FREE_BYTES = 0;
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

/** The index area: first fit's AddressIndex or best fit's FreeTree, whichever the list uses (the larger). */
function indexBytes(capacity: number): number {
  return Math.max(FreeTree.byteLength(capacity), AddressIndex.byteLength(capacity));
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
      indexBytes(capacity) +
      roundUp8(doubles * 8 + ints * 4 + 2 * capacity) +
      BestFitIndex.byteLength(capacity)
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
  private readonly first: AddressIndex;
  private readonly best: BestFitIndex;
  private readonly bestFit: boolean;
  /** Table index of the entry the last successful find() returned: a checked hint for tableRemove. */
  private foundAt = 0;

  /**
   * @param buffer shared or plain; the list lives at [byteOffset, byteOffset + byteLength(capacity)),
   *   byteOffset a multiple of 8.
   * @param sizeBytes size of the region in each bank.
   * @param policy how a free block is chosen: every thread sharing the buffer must agree.
   * @param granuleBytes the region's alignment (the Allocator's sizes are multiples of it): best fit lists
   *   free blocks by size in granules; a size that is not a whole number of granules goes to the tree.
   */
  constructor(
    buffer: ArrayBufferLike,
    byteOffset: number,
    readonly capacity: number,
    readonly sizeBytes: number,
    policy: FitPolicy,
    granuleBytes: number,
  ) {
    // Both views over the same index area: a list uses only its policy's (format() sets up only that one).
    this.tree = new FreeTree(buffer, byteOffset, capacity);
    this.first = new AddressIndex(buffer, byteOffset, capacity);
    this.bestFit = policy === FitPolicy.BEST_FIT;
    const carve = new BufferCarver(buffer, byteOffset + indexBytes(capacity));
    this.headerF = carve.doubles(HEADER_DOUBLES);
    this.address = carve.doubles(capacity);
    this.size = carve.doubles(capacity);
    this.allocationIds = carve.doubles(capacity);
    this.requested = carve.doubles(capacity);
    this.header = carve.ints(HEADER_INTS);
    this.prev = carve.ints(capacity);
    this.next = carve.ints(capacity);
    const tableSize = tableSizeFor(capacity);
    this.table = carve.ints(tableSize);
    this.tableMask = tableSize - 1;
    this.tableShift = 32 - Math.log2(tableSize);
    this.state = new Uint8Array(buffer, carve.at, capacity);
    this.tags = new Uint8Array(buffer, carve.at + capacity, capacity);
    // Last: first fit never touches it, and its arrays keep the offsets they had without it.
    this.best = new BestFitIndex(
      buffer,
      roundUp8(carve.at + 2 * capacity),
      capacity,
      granuleBytes,
      this.tree,
      this.size,
    );
  }

  /** Initialises an empty region (one free block spanning it). Only the creator of the buffer calls this. */
  format(): void {
    const h = this.header;
    for (let i = 0; i < this.capacity; i++) {
      this.next[i] = i + 1 < this.capacity ? i + 1 : NIL;
      this.state[i] = UNUSED;
    }
    this.table.fill(0);
    if (this.bestFit) {
      this.tree.format();
      this.best.format();
    } else {
      this.first.format();
    }
    h[H_HEAD] = NIL;
    h[H_UNUSED] = this.capacity > 0 ? 0 : NIL;
    h[H_ALLOCATED_BLOCKS] = 0;
    this.headerF[F_FREE_BYTES] = 0;
    if (this.sizeBytes > 0 && this.capacity > 0) {
      const s = this.takeSlot();
      this.address[s] = 0;
      this.size[s] = this.sizeBytes;
      this.prev[s] = NIL;
      this.next[s] = NIL;
      this.state[s] = FREE;
      if (this.bestFit) this.best.insert(s, this.sizeBytes);
      else this.first.insert(s, 0, this.sizeBytes);
      h[H_HEAD] = s;
      this.headerF[F_FREE_BYTES] = this.sizeBytes;
    }
  }

  get freeBytes(): number {
    return this.headerF[F_FREE_BYTES]!;
  }
  get freeBlocks(): number {
    return this.bestFit ? this.best.count : this.first.count;
  }
  get allocatedBlocks(): number {
    return this.header[H_ALLOCATED_BLOCKS]!;
  }
  get largestFreeBytes(): number {
    return this.bestFit ? this.best.largestBytes : this.first.largestBytes;
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
    return this.bestFit
      ? this.allocateBestFit(sizeBytes, bottomUp, tag, allocationId, requestedBytes)
      : this.allocateFirstFit(sizeBytes, bottomUp, tag, allocationId, requestedBytes);
  }

  /** allocate() of a first-fit list: the lowest (bottom-up) or highest fitting address. */
  allocateFirstFit(
    sizeBytes: number,
    bottomUp: boolean,
    tag: number,
    allocationId: number,
    requestedBytes: number,
  ): number {
    const index = this.first;
    const f = index.findFirst(sizeBytes, bottomUp);
    if (f === NIL) return NO_FIT_RESULT;
    const freeSize = this.size[f]!;
    let a: number;
    if (freeSize === sizeBytes) {
      index.remove(f);
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
      index.resize(f, rest, restSize);
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

  /** allocate() of a best-fit list: the smallest fitting block, the latest of its size (BestFitIndex). */
  allocateBestFit(
    sizeBytes: number,
    bottomUp: boolean,
    tag: number,
    allocationId: number,
    requestedBytes: number,
  ): number {
    const best = this.best;
    const f = best.find(sizeBytes);
    if (f === NIL) return NO_FIT_RESULT;
    const freeSize = this.size[f]!;
    let a: number;
    if (freeSize === sizeBytes) {
      best.remove(f, freeSize);
      a = f;
    } else {
      a = this.takeSlot();
      if (a === NIL) return TABLE_FULL_RESULT;
      const start = this.address[f]!;
      if (bottomUp) {
        this.address[a] = start;
        this.address[f] = start + sizeBytes;
        this.linkBefore(a, f);
      } else {
        this.address[a] = start + freeSize - sizeBytes;
        this.linkAfter(a, f);
      }
      const restSize = freeSize - sizeBytes;
      this.size[f] = restSize;
      best.resize(f, freeSize, restSize);
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
      if (this.address[v - 1] === offset) {
        this.foundAt = i;
        return v - 1;
      }
      i = (i + 1) & this.tableMask;
    }
  }

  /** Frees an allocated block (from find()) and merges it with free neighbours. */
  release(a: number): void {
    if (this.bestFit) this.releaseBestFit(a);
    else this.releaseFirstFit(a);
  }

  /** release() of a first-fit list. */
  releaseFirstFit(a: number): void {
    const index = this.first;
    this.tableRemove(a);
    const blockSize = this.size[a]!;
    this.headerF[F_FREE_BYTES]! += blockSize;
    this.header[H_ALLOCATED_BLOCKS]!--;
    const p = this.prev[a]!;
    const n = this.next[a]!;
    const prevFree = p !== NIL && this.state[p] === FREE;
    const nextFree = n !== NIL && this.state[n] === FREE;
    if (!prevFree && !nextFree) {
      this.state[a] = FREE;
      index.insert(a, this.address[a]!, blockSize);
      return;
    }
    // One call site per helper (not one per case): the fewer inlined copies, the more of V8's inlining
    // budget is left for the rest of this function.
    let keep: number;
    let start: number;
    let merged: number;
    if (prevFree) {
      keep = p;
      start = this.address[p]!;
      merged = this.size[p]! + blockSize;
    } else {
      // Moving the next block's start down to ours keeps the address order: `a` was allocated, not free.
      keep = n;
      start = this.address[a]!;
      merged = this.size[n]! + blockSize;
      this.address[n] = start;
    }
    this.unlink(a);
    this.releaseSlot(a);
    if (prevFree && nextFree) {
      index.remove(n);
      merged += this.size[n]!;
      this.unlink(n);
      this.releaseSlot(n);
    }
    this.size[keep] = merged;
    index.resize(keep, start, merged);
  }

  /** release() of a best-fit list: the merged or freed block becomes the latest of its size. */
  releaseBestFit(a: number): void {
    const best = this.best;
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
      best.remove(n, nextSize);
      const old = this.size[p]!;
      const merged = old + blockSize + nextSize;
      this.size[p] = merged;
      this.unlink(a);
      this.unlink(n);
      this.releaseSlot(a);
      this.releaseSlot(n);
      best.resize(p, old, merged);
    } else if (prevFree) {
      const old = this.size[p]!;
      const merged = old + blockSize;
      this.size[p] = merged;
      this.unlink(a);
      this.releaseSlot(a);
      best.resize(p, old, merged);
    } else if (nextFree) {
      const old = this.size[n]!;
      const merged = old + blockSize;
      this.address[n] = this.address[a]!;
      this.size[n] = merged;
      this.unlink(a);
      this.releaseSlot(a);
      best.resize(n, old, merged);
    } else {
      this.state[a] = FREE;
      best.insert(a, blockSize);
    }
  }

  /**
   * Describes the first broken invariant of the list, or returns undefined (for tests): the index's own
   * structure, and that it holds exactly the free blocks of the block list (free-list-check.ts).
   */
  checkInvariants(): string | undefined {
    const free: number[] = [];
    for (let s = this.firstBlock; s !== NIL; s = this.next[s]!) {
      if (this.state[s] === FREE) free.push(s);
    }
    const best = this.bestFit ? this.best : undefined;
    return checkFreeIndex(free, this.address, this.size, this.tree, this.first, best);
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
    // A deallocation's find() just saw the entry: start there (checked) instead of hashing and probing again.
    let i = this.foundAt;
    if (this.table[i] !== s + 1) {
      i = this.hash(this.address[s]!);
      while (this.table[i] !== s + 1) i = (i + 1) & mask;
    }
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
