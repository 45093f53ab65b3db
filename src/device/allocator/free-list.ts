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
 * - free blocks also sit in a FreeTree, ordered by address (first fit) or by size (best fit), chosen when
 *   the list is built;
 * - allocated blocks sit in an open-addressing hash table keyed by address (deallocation by address).
 * Unused slots are chained through `next`.
 */

import { FreeTree, NONE, TreeOrder } from "./free-tree.js";
import { checkFreeTree, freeTreeSlots, freeTreeView } from "./free-tree-check.js";

export { NONE, TreeOrder };

// Private copies of the exported constants for the hot paths (see NIL in free-tree.ts: V8 re-reads an
// exported binding from its module cell at every use).
const NIL = -1;
const NO_FIT_RESULT = -1;
const TABLE_FULL_RESULT = -2;
const UNUSED = 0;
const FREE = 1;
const ALLOCATED = 2;

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
 * One 64-byte record per block slot (a cache line when the buffer is 64-byte aligned): a release touches
 * most of a block's fields, and its slot is random, so one line per block beats one line per field.
 * Float64 fields at record * 8 + ..., Int32 fields at record * 16 + ... (the upper half of the record).
 */
const RECORD_BYTES = 64;
const RECORD_DOUBLES = RECORD_BYTES / 8;
const RECORD_INTS = RECORD_BYTES / 4;
const R_ADDRESS = 0;
const R_SIZE = 1;
const R_ALLOCATION_ID = 2;
const R_REQUESTED = 3;
const R_PREV = 8;
const R_NEXT = 9;
const R_STATE = 10;
const R_TAG = 11;

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
  /** Bytes of buffer a list of `capacity` blocks needs (a multiple of 64: lists placed back to back keep
   * their records on cache lines). */
  static byteLength(capacity: number): number {
    const headers = HEADER_DOUBLES * 8 + HEADER_INTS * 4;
    const table = tableSizeFor(capacity) * 4;
    const bytes = capacity * RECORD_BYTES + headers + roundUp8(table) + FreeTree.byteLength(capacity);
    return Math.ceil(bytes / 64) * 64;
  }

  private readonly header: Int32Array;
  private readonly headerF: Float64Array;
  /** Block records: the same bytes seen as Float64 (`rf`) and Int32 (`ri`). */
  private readonly rf: Float64Array;
  private readonly ri: Int32Array;
  private readonly table: Int32Array;
  private readonly tableMask: number;
  private readonly tableShift: number;
  private readonly tree: FreeTree;
  private readonly bestFit: boolean;

  /**
   * @param buffer shared or plain; the list lives at [byteOffset, byteOffset + byteLength(capacity)),
   *   byteOffset a multiple of 8 (of 64 to keep each block record in one cache line).
   * @param sizeBytes size of the region in each bank.
   * @param order BY_ADDRESS for first fit, BY_SIZE for best fit: every thread sharing the buffer must agree.
   */
  constructor(
    buffer: ArrayBufferLike,
    byteOffset: number,
    readonly capacity: number,
    readonly sizeBytes: number,
    order: TreeOrder,
  ) {
    this.bestFit = order === TreeOrder.BY_SIZE;
    this.rf = new Float64Array(buffer, byteOffset, capacity * RECORD_DOUBLES);
    this.ri = new Int32Array(buffer, byteOffset, capacity * RECORD_INTS);
    let at = byteOffset + capacity * RECORD_BYTES;
    this.headerF = new Float64Array(buffer, at, HEADER_DOUBLES);
    at += HEADER_DOUBLES * 8;
    this.header = new Int32Array(buffer, at, HEADER_INTS);
    at += HEADER_INTS * 4;
    const tableSize = tableSizeFor(capacity);
    this.table = new Int32Array(buffer, at, tableSize);
    this.tableMask = tableSize - 1;
    this.tableShift = 32 - Math.log2(tableSize);
    at += roundUp8(tableSize * 4);
    this.tree = new FreeTree(buffer, at, capacity, order);
  }

  /** Initialises an empty region (one free block spanning it). Only the creator of the buffer calls this. */
  format(): void {
    const h = this.header;
    for (let i = 0; i < this.capacity; i++) {
      this.ri[i * RECORD_INTS + R_NEXT] = i + 1 < this.capacity ? i + 1 : NIL;
      this.ri[i * RECORD_INTS + R_STATE] = UNUSED;
    }
    this.table.fill(0);
    this.tree.format();
    h[H_HEAD] = NIL;
    h[H_UNUSED] = this.capacity > 0 ? 0 : NIL;
    h[H_ALLOCATED_BLOCKS] = 0;
    this.headerF[F_FREE_BYTES] = 0;
    if (this.sizeBytes > 0 && this.capacity > 0) {
      const s = this.takeSlot();
      this.rf[s * RECORD_DOUBLES + R_ADDRESS] = 0;
      this.rf[s * RECORD_DOUBLES + R_SIZE] = this.sizeBytes;
      this.ri[s * RECORD_INTS + R_PREV] = NIL;
      this.ri[s * RECORD_INTS + R_NEXT] = NIL;
      this.ri[s * RECORD_INTS + R_STATE] = FREE;
      this.tree.insert(s, 0, this.sizeBytes);
      h[H_HEAD] = s;
      this.headerF[F_FREE_BYTES] = this.sizeBytes;
    }
  }

  get freeBytes(): number {
    return this.headerF[F_FREE_BYTES]!;
  }
  get freeBlocks(): number {
    return this.tree.count;
  }
  get allocatedBlocks(): number {
    return this.header[H_ALLOCATED_BLOCKS]!;
  }
  get largestFreeBytes(): number {
    return this.tree.largestBytes;
  }
  /** First block in address order, or NONE. Walk with nextOf(). */
  get firstBlock(): number {
    return this.header[H_HEAD]!;
  }
  nextOf(slot: number): number {
    return this.ri[slot * RECORD_INTS + R_NEXT]!;
  }
  stateOf(slot: number): number {
    return this.ri[slot * RECORD_INTS + R_STATE]!;
  }
  offsetOf(slot: number): number {
    return this.rf[slot * RECORD_DOUBLES + R_ADDRESS]!;
  }
  sizeOf(slot: number): number {
    return this.rf[slot * RECORD_DOUBLES + R_SIZE]!;
  }
  /** The caller's tag byte of an allocated block. */
  tagOf(slot: number): number {
    return this.ri[slot * RECORD_INTS + R_TAG]!;
  }
  allocationIdOf(slot: number): number {
    return this.rf[slot * RECORD_DOUBLES + R_ALLOCATION_ID]!;
  }
  requestedBytesOf(slot: number): number {
    return this.rf[slot * RECORD_DOUBLES + R_REQUESTED]!;
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
    const f = this.bestFit ? tree.findBest(sizeBytes, bottomUp) : tree.findFirst(sizeBytes, bottomUp);
    if (f === NIL) return NO_FIT_RESULT;
    const freeSize = this.rf[f * RECORD_DOUBLES + R_SIZE]!;
    let a: number;
    if (freeSize === sizeBytes) {
      tree.remove(f);
      a = f;
    } else {
      a = this.takeSlot();
      if (a === NIL) return TABLE_FULL_RESULT;
      const start = this.rf[f * RECORD_DOUBLES + R_ADDRESS]!;
      let rest = start;
      if (bottomUp) {
        this.rf[a * RECORD_DOUBLES + R_ADDRESS] = start;
        rest = start + sizeBytes;
        this.rf[f * RECORD_DOUBLES + R_ADDRESS] = rest;
        this.linkBefore(a, f);
      } else {
        this.rf[a * RECORD_DOUBLES + R_ADDRESS] = start + freeSize - sizeBytes;
        this.linkAfter(a, f);
      }
      const restSize = freeSize - sizeBytes;
      this.rf[f * RECORD_DOUBLES + R_SIZE] = restSize;
      // The free block's start may have moved up, but no other free block lies in between: order holds.
      tree.resize(f, rest, restSize);
    }
    this.rf[a * RECORD_DOUBLES + R_SIZE] = sizeBytes;
    this.ri[a * RECORD_INTS + R_STATE] = ALLOCATED;
    this.ri[a * RECORD_INTS + R_TAG] = tag;
    this.rf[a * RECORD_DOUBLES + R_ALLOCATION_ID] = allocationId;
    this.rf[a * RECORD_DOUBLES + R_REQUESTED] = requestedBytes;
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
      if (this.rf[(v - 1) * RECORD_DOUBLES + R_ADDRESS] === offset) return v - 1;
      i = (i + 1) & this.tableMask;
    }
  }

  /** Frees an allocated block (from find()) and merges it with free neighbours. */
  release(a: number): void {
    const tree = this.tree;
    this.tableRemove(a);
    const blockSize = this.rf[a * RECORD_DOUBLES + R_SIZE]!;
    this.headerF[F_FREE_BYTES]! += blockSize;
    this.header[H_ALLOCATED_BLOCKS]!--;
    const p = this.ri[a * RECORD_INTS + R_PREV]!;
    const n = this.ri[a * RECORD_INTS + R_NEXT]!;
    const prevFree = p !== NIL && this.ri[p * RECORD_INTS + R_STATE] === FREE;
    const nextFree = n !== NIL && this.ri[n * RECORD_INTS + R_STATE] === FREE;
    if (prevFree && nextFree) {
      tree.remove(n);
      const merged =
        this.rf[p * RECORD_DOUBLES + R_SIZE]! + blockSize + this.rf[n * RECORD_DOUBLES + R_SIZE]!;
      this.rf[p * RECORD_DOUBLES + R_SIZE] = merged;
      this.unlink(a);
      this.unlink(n);
      this.releaseSlot(a);
      this.releaseSlot(n);
      tree.resize(p, this.rf[p * RECORD_DOUBLES + R_ADDRESS]!, merged);
    } else if (prevFree) {
      const merged = this.rf[p * RECORD_DOUBLES + R_SIZE]! + blockSize;
      this.rf[p * RECORD_DOUBLES + R_SIZE] = merged;
      this.unlink(a);
      this.releaseSlot(a);
      tree.resize(p, this.rf[p * RECORD_DOUBLES + R_ADDRESS]!, merged);
    } else if (nextFree) {
      // Moving the next block's start down to ours keeps the address order: `a` was allocated, not free.
      const start = this.rf[a * RECORD_DOUBLES + R_ADDRESS]!;
      const merged = this.rf[n * RECORD_DOUBLES + R_SIZE]! + blockSize;
      this.rf[n * RECORD_DOUBLES + R_ADDRESS] = start;
      this.rf[n * RECORD_DOUBLES + R_SIZE] = merged;
      this.unlink(a);
      this.releaseSlot(a);
      tree.resize(n, start, merged);
    } else {
      this.ri[a * RECORD_INTS + R_STATE] = FREE;
      tree.insert(a, this.rf[a * RECORD_DOUBLES + R_ADDRESS]!, blockSize);
    }
  }

  /**
   * Describes the first broken invariant of the list, or returns undefined (for tests): the tree's own
   * structure, and that it holds exactly the free blocks of the block list with their addresses and sizes.
   */
  checkInvariants(): string | undefined {
    const problem = checkFreeTree(this.tree);
    if (problem !== undefined) return `tree: ${problem}`;
    const free: number[] = [];
    for (let s = this.firstBlock; s !== NIL; s = this.ri[s * RECORD_INTS + R_NEXT]!) {
      if (this.ri[s * RECORD_INTS + R_STATE] === FREE) free.push(s);
    }
    const inTree = freeTreeSlots(this.tree);
    if (inTree.length !== free.length) return `${inTree.length} blocks in the tree, ${free.length} free`;
    const expected = this.bestFit
      ? free
          .slice()
          .sort(
            (a, b) =>
              this.rf[a * RECORD_DOUBLES + R_SIZE]! - this.rf[b * RECORD_DOUBLES + R_SIZE]! ||
              this.rf[a * RECORD_DOUBLES + R_ADDRESS]! - this.rf[b * RECORD_DOUBLES + R_ADDRESS]!,
          )
      : free;
    for (let i = 0; i < expected.length; i++) {
      if (inTree[i] !== expected[i]) return `tree position ${i}: slot ${inTree[i]}, expected ${expected[i]}`;
    }
    for (const s of free) {
      const view = freeTreeView(this.tree, s);
      if (
        view.address !== this.rf[s * RECORD_DOUBLES + R_ADDRESS] ||
        view.sizeBytes !== this.rf[s * RECORD_DOUBLES + R_SIZE]
      ) {
        return `slot ${s}: tree holds ${view.address}+${view.sizeBytes}, list ${this.rf[s * RECORD_DOUBLES + R_ADDRESS]}+${this.rf[s * RECORD_DOUBLES + R_SIZE]}`;
      }
    }
    return undefined;
  }

  // ---- block list and slots ----

  private takeSlot(): number {
    const s = this.header[H_UNUSED]!;
    if (s !== NIL) this.header[H_UNUSED] = this.ri[s * RECORD_INTS + R_NEXT]!;
    return s;
  }

  private releaseSlot(s: number): void {
    this.ri[s * RECORD_INTS + R_STATE] = UNUSED;
    this.ri[s * RECORD_INTS + R_NEXT] = this.header[H_UNUSED]!;
    this.header[H_UNUSED] = s;
  }

  private linkBefore(a: number, f: number): void {
    const p = this.ri[f * RECORD_INTS + R_PREV]!;
    this.ri[a * RECORD_INTS + R_PREV] = p;
    this.ri[a * RECORD_INTS + R_NEXT] = f;
    if (p === NIL) this.header[H_HEAD] = a;
    else this.ri[p * RECORD_INTS + R_NEXT] = a;
    this.ri[f * RECORD_INTS + R_PREV] = a;
  }

  private linkAfter(a: number, f: number): void {
    const n = this.ri[f * RECORD_INTS + R_NEXT]!;
    this.ri[a * RECORD_INTS + R_NEXT] = n;
    this.ri[a * RECORD_INTS + R_PREV] = f;
    if (n !== NIL) this.ri[n * RECORD_INTS + R_PREV] = a;
    this.ri[f * RECORD_INTS + R_NEXT] = a;
  }

  private unlink(x: number): void {
    const p = this.ri[x * RECORD_INTS + R_PREV]!;
    const n = this.ri[x * RECORD_INTS + R_NEXT]!;
    if (p === NIL) this.header[H_HEAD] = n;
    else this.ri[p * RECORD_INTS + R_NEXT] = n;
    if (n !== NIL) this.ri[n * RECORD_INTS + R_PREV] = p;
  }

  // ---- hash table of allocated blocks, keyed by address (linear probing, backward-shift deletion) ----

  private hash(key: number): number {
    // Fibonacci hashing on the low 32 bits xor the high bits; addresses are multiples of the alignment.
    const x = (key >>> 0) ^ ((key / 4294967296) >>> 0);
    return Math.imul(x, 0x9e3779b1) >>> this.tableShift;
  }

  private tableInsert(s: number): void {
    let i = this.hash(this.rf[s * RECORD_DOUBLES + R_ADDRESS]!);
    while (this.table[i] !== 0) i = (i + 1) & this.tableMask;
    this.table[i] = s + 1;
  }

  private tableRemove(s: number): void {
    const mask = this.tableMask;
    let i = this.hash(this.rf[s * RECORD_DOUBLES + R_ADDRESS]!);
    while (this.table[i] !== s + 1) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const v = this.table[j]!;
      if (v === 0) break;
      const home = this.hash(this.rf[(v - 1) * RECORD_DOUBLES + R_ADDRESS]!);
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
