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
 * - free blocks also sit in a treap keyed by address whose nodes carry the largest free size of their
 *   subtree, so exact first fit (lowest fitting address bottom-up, highest top-down) is one O(log n)
 *   descent, and the largest free block is read at the root;
 * - allocated blocks sit in an open-addressing hash table keyed by address (deallocation by address).
 * Unused slots are chained through `next`.
 */

export const NONE = -1;
/** allocate() result: no free block is large enough. */
export const NO_FIT = -1;
/** allocate() result: a new block was needed but every slot is in use. */
export const TABLE_FULL = -2;

export const SlotState = { UNUSED: 0, FREE: 1, ALLOCATED: 2 } as const;

// Int32 header
const H_ROOT = 0;
const H_HEAD = 1;
const H_UNUSED = 2;
const H_FREE_BLOCKS = 3;
const H_ALLOCATED_BLOCKS = 4;
const HEADER_INTS = 8;
// Float64 header
const F_FREE_BYTES = 0;
const HEADER_DOUBLES = 2;

function tableSizeFor(capacity: number): number {
  let size = 16;
  while (size < capacity * 2) size *= 2;
  return size;
}

function roundUp8(bytes: number): number {
  return Math.ceil(bytes / 8) * 8;
}

export class FreeList {
  /** Bytes of buffer a list of `capacity` blocks needs (a multiple of 8). */
  static byteLength(capacity: number): number {
    const doubles = HEADER_DOUBLES + 5 * capacity;
    const ints = HEADER_INTS + 5 * capacity + tableSizeFor(capacity);
    return roundUp8(doubles * 8 + ints * 4 + 2 * capacity);
  }

  private readonly header: Int32Array;
  private readonly headerF: Float64Array;
  private readonly address: Float64Array;
  private readonly size: Float64Array;
  private readonly maxFree: Float64Array;
  private readonly allocationIds: Float64Array;
  private readonly requested: Float64Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly priority: Int32Array;
  private readonly table: Int32Array;
  private readonly state: Uint8Array;
  private readonly tags: Uint8Array;
  private readonly tableMask: number;
  private readonly tableShift: number;
  // Scratch results of split() and the best-fit search (single-threaded within the critical section).
  private splitLeft = NONE;
  private splitRight = NONE;
  private bestSlot = NONE;
  /** Scratch path of remove(); per thread, not part of the (possibly shared) state. */
  private readonly path = new Int32Array(256);

  /**
   * @param buffer shared or plain; the list lives at [byteOffset, byteOffset + byteLength(capacity)).
   * @param sizeBytes size of the region in each bank.
   */
  constructor(
    buffer: ArrayBufferLike,
    byteOffset: number,
    readonly capacity: number,
    readonly sizeBytes: number,
  ) {
    let at = byteOffset;
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
    this.maxFree = doubles(capacity);
    this.allocationIds = doubles(capacity);
    this.requested = doubles(capacity);
    this.header = ints(HEADER_INTS);
    this.prev = ints(capacity);
    this.next = ints(capacity);
    this.left = ints(capacity);
    this.right = ints(capacity);
    this.priority = ints(capacity);
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
      this.next[i] = i + 1 < this.capacity ? i + 1 : NONE;
      this.state[i] = SlotState.UNUSED;
      // Fixed pseudo-random treap priority per slot (no RNG state to share between threads).
      let x = Math.imul(i + 1, 0x9e3779b1);
      x ^= x >>> 15;
      this.priority[i] = Math.imul(x, 0x85ebca6b) ^ (x >>> 13);
    }
    this.table.fill(0);
    h[H_ROOT] = NONE;
    h[H_HEAD] = NONE;
    h[H_UNUSED] = this.capacity > 0 ? 0 : NONE;
    h[H_FREE_BLOCKS] = 0;
    h[H_ALLOCATED_BLOCKS] = 0;
    this.headerF[F_FREE_BYTES] = 0;
    if (this.sizeBytes > 0 && this.capacity > 0) {
      const s = this.takeSlot();
      this.address[s] = 0;
      this.size[s] = this.sizeBytes;
      this.prev[s] = NONE;
      this.next[s] = NONE;
      this.makeFreeNode(s);
      h[H_ROOT] = s;
      h[H_HEAD] = s;
      h[H_FREE_BLOCKS] = 1;
      this.headerF[F_FREE_BYTES] = this.sizeBytes;
    }
  }

  get freeBytes(): number {
    return this.headerF[F_FREE_BYTES]!;
  }
  get freeBlocks(): number {
    return this.header[H_FREE_BLOCKS]!;
  }
  get allocatedBlocks(): number {
    return this.header[H_ALLOCATED_BLOCKS]!;
  }
  get largestFreeBytes(): number {
    const root = this.header[H_ROOT]!;
    return root === NONE ? 0 : this.maxFree[root]!;
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
    bestFit: boolean,
    tag: number,
    allocationId: number,
    requestedBytes: number,
  ): number {
    const f = bestFit ? this.findBest(sizeBytes, bottomUp) : this.findFirst(sizeBytes, bottomUp);
    if (f === NONE) return NO_FIT;
    const h = this.header;
    const freeSize = this.size[f]!;
    let a: number;
    if (freeSize === sizeBytes) {
      this.remove(this.address[f]!);
      h[H_FREE_BLOCKS]!--;
      a = f;
    } else {
      a = this.takeSlot();
      if (a === NONE) return TABLE_FULL;
      const start = this.address[f]!;
      if (bottomUp) {
        this.address[a] = start;
        this.address[f] = start + sizeBytes;
        this.linkBefore(a, f);
      } else {
        this.address[a] = start + freeSize - sizeBytes;
        this.linkAfter(a, f);
      }
      this.size[f] = freeSize - sizeBytes;
      // The free block's key may have moved up, but no other free block lies in between: order holds.
      this.refresh(h[H_ROOT]!, this.address[f]!);
    }
    this.size[a] = sizeBytes;
    this.state[a] = SlotState.ALLOCATED;
    this.tags[a] = tag;
    this.allocationIds[a] = allocationId;
    this.requested[a] = requestedBytes;
    h[H_ALLOCATED_BLOCKS]!++;
    this.headerF[F_FREE_BYTES]! -= sizeBytes;
    this.tableInsert(a);
    return a;
  }

  /** Slot of the allocated block at `offset`, or NONE. */
  find(offset: number): number {
    let i = this.hash(offset);
    for (;;) {
      const v = this.table[i]!;
      if (v === 0) return NONE;
      if (this.address[v - 1] === offset) return v - 1;
      i = (i + 1) & this.tableMask;
    }
  }

  /** Frees an allocated block (from find()) and merges it with free neighbours. */
  release(a: number): void {
    const h = this.header;
    this.tableRemove(a);
    const blockSize = this.size[a]!;
    this.headerF[F_FREE_BYTES]! += blockSize;
    h[H_ALLOCATED_BLOCKS]!--;
    const p = this.prev[a]!;
    const n = this.next[a]!;
    const prevFree = p !== NONE && this.state[p] === SlotState.FREE;
    const nextFree = n !== NONE && this.state[n] === SlotState.FREE;
    if (prevFree && nextFree) {
      this.remove(this.address[n]!);
      this.size[p]! += blockSize + this.size[n]!;
      this.unlink(a);
      this.unlink(n);
      this.releaseSlot(a);
      this.releaseSlot(n);
      h[H_FREE_BLOCKS]!--;
      this.refresh(h[H_ROOT]!, this.address[p]!);
    } else if (prevFree) {
      this.size[p]! += blockSize;
      this.unlink(a);
      this.releaseSlot(a);
      this.refresh(h[H_ROOT]!, this.address[p]!);
    } else if (nextFree) {
      // Moving the next block's key down to ours keeps the treap order: `a` was allocated, not free.
      this.address[n] = this.address[a]!;
      this.size[n]! += blockSize;
      this.unlink(a);
      this.releaseSlot(a);
      this.refresh(h[H_ROOT]!, this.address[n]!);
    } else {
      this.makeFreeNode(a);
      this.insert(a);
      h[H_FREE_BLOCKS]!++;
    }
  }

  // ---- block list and slots ----

  private takeSlot(): number {
    const s = this.header[H_UNUSED]!;
    if (s !== NONE) this.header[H_UNUSED] = this.next[s]!;
    return s;
  }

  private releaseSlot(s: number): void {
    this.state[s] = SlotState.UNUSED;
    this.next[s] = this.header[H_UNUSED]!;
    this.header[H_UNUSED] = s;
  }

  private linkBefore(a: number, f: number): void {
    const p = this.prev[f]!;
    this.prev[a] = p;
    this.next[a] = f;
    if (p === NONE) this.header[H_HEAD] = a;
    else this.next[p] = a;
    this.prev[f] = a;
  }

  private linkAfter(a: number, f: number): void {
    const n = this.next[f]!;
    this.next[a] = n;
    this.prev[a] = f;
    if (n !== NONE) this.prev[n] = a;
    this.next[f] = a;
  }

  private unlink(x: number): void {
    const p = this.prev[x]!;
    const n = this.next[x]!;
    if (p === NONE) this.header[H_HEAD] = n;
    else this.next[p] = n;
    if (n !== NONE) this.prev[n] = p;
  }

  // ---- treap of free blocks, keyed by address, augmented with the subtree's largest free size ----

  private makeFreeNode(s: number): void {
    this.state[s] = SlotState.FREE;
    this.left[s] = NONE;
    this.right[s] = NONE;
    this.maxFree[s] = this.size[s]!;
  }

  /** Recomputes t's subtree maximum; returns whether it changed. */
  private update(t: number): boolean {
    let m = this.size[t]!;
    const l = this.left[t]!;
    const r = this.right[t]!;
    if (l !== NONE && this.maxFree[l]! > m) m = this.maxFree[l]!;
    if (r !== NONE && this.maxFree[r]! > m) m = this.maxFree[r]!;
    if (this.maxFree[t] === m) return false;
    this.maxFree[t] = m;
    return true;
  }

  /** Splits tree t into keys < key (splitLeft) and keys >= key (splitRight). */
  private split(t: number, key: number): void {
    if (t === NONE) {
      this.splitLeft = NONE;
      this.splitRight = NONE;
      return;
    }
    if (this.address[t]! < key) {
      this.split(this.right[t]!, key);
      this.right[t] = this.splitLeft;
      this.update(t);
      this.splitLeft = t;
    } else {
      this.split(this.left[t]!, key);
      this.left[t] = this.splitRight;
      this.update(t);
      this.splitRight = t;
    }
  }

  /** Joins trees a and b where every key of a is below every key of b. */
  private merge(a: number, b: number): number {
    if (a === NONE) return b;
    if (b === NONE) return a;
    if (this.priority[a]! > this.priority[b]!) {
      this.right[a] = this.merge(this.right[a]!, b);
      this.update(a);
      return a;
    }
    this.left[b] = this.merge(a, this.left[b]!);
    this.update(b);
    return b;
  }

  /**
   * Inserts free node n. Iterative: on the way down every ancestor's maximum becomes max(old, size of n),
   * so no second pass is needed; only the subtree n lands on is split.
   */
  private insert(n: number): void {
    const key = this.address[n]!;
    const s = this.size[n]!;
    const pn = this.priority[n]!;
    let parent = NONE;
    let goLeft = false;
    let t = this.header[H_ROOT]!;
    while (t !== NONE && this.priority[t]! >= pn) {
      if (this.maxFree[t]! < s) this.maxFree[t] = s;
      parent = t;
      goLeft = key < this.address[t]!;
      t = goLeft ? this.left[t]! : this.right[t]!;
    }
    this.split(t, key);
    this.left[n] = this.splitLeft;
    this.right[n] = this.splitRight;
    this.update(n);
    if (parent === NONE) this.header[H_ROOT] = n;
    else if (goLeft) this.left[parent] = n;
    else this.right[parent] = n;
  }

  /**
   * Removes the free node keyed `key` (it must be present). Iterative with a path stack, so ancestors are
   * recomputed bottom-up only while their maximum changes.
   */
  private remove(key: number): void {
    const path = this.path;
    let depth = 0;
    let t = this.header[H_ROOT]!;
    while (this.address[t] !== key) {
      if (depth === path.length) {
        // Deeper than any treap of random priorities gets in practice; stay correct anyway.
        this.header[H_ROOT] = this.removeRecursive(this.header[H_ROOT]!, key);
        return;
      }
      path[depth++] = t;
      t = key < this.address[t]! ? this.left[t]! : this.right[t]!;
    }
    const m = this.merge(this.left[t]!, this.right[t]!);
    if (depth === 0) {
      this.header[H_ROOT] = m;
      return;
    }
    const p = path[depth - 1]!;
    if (this.left[p] === t) this.left[p] = m;
    else this.right[p] = m;
    for (let d = depth - 1; d >= 0; d--) if (!this.update(path[d]!)) break;
  }

  private removeRecursive(t: number, key: number): number {
    if (t === NONE) return NONE;
    const k = this.address[t]!;
    if (k === key) return this.merge(this.left[t]!, this.right[t]!);
    if (key < k) this.left[t] = this.removeRecursive(this.left[t]!, key);
    else this.right[t] = this.removeRecursive(this.right[t]!, key);
    this.update(t);
    return t;
  }

  /**
   * Recomputes the augmentation on the path to `key` after that node's size changed. Ancestors are only
   * revisited while the maximum keeps changing (most changes stop a level or two above the node).
   */
  private refresh(t: number, key: number): boolean {
    if (t === NONE) return false;
    const k = this.address[t]!;
    if (key < k) {
      if (!this.refresh(this.left[t]!, key)) return false;
    } else if (key > k) {
      if (!this.refresh(this.right[t]!, key)) return false;
    }
    return this.update(t);
  }

  /** Lowest-addressed (bottom-up) or highest-addressed (top-down) free block of at least `n` bytes. */
  private findFirst(n: number, bottomUp: boolean): number {
    let t = this.header[H_ROOT]!;
    if (t === NONE || this.maxFree[t]! < n) return NONE;
    const near = bottomUp ? this.left : this.right;
    const far = bottomUp ? this.right : this.left;
    for (;;) {
      const c = near[t]!;
      if (c !== NONE && this.maxFree[c]! >= n) t = c;
      else if (this.size[t]! >= n) return t;
      else t = far[t]!;
    }
  }

  /** Smallest free block of at least `n` bytes; ties go to the lowest (bottom-up) or highest address. */
  private findBest(n: number, bottomUp: boolean): number {
    this.bestSlot = NONE;
    this.searchBest(this.header[H_ROOT]!, n, bottomUp);
    return this.bestSlot;
  }

  private searchBest(t: number, n: number, bottomUp: boolean): void {
    // Visits only subtrees holding a fit; stops early on an exact fit in the preferred direction.
    if (t === NONE || this.maxFree[t]! < n) return;
    const best = this.bestSlot;
    if (best !== NONE && this.size[best] === n) return;
    this.searchBest(bottomUp ? this.left[t]! : this.right[t]!, n, bottomUp);
    const s = this.size[t]!;
    if (s >= n) {
      const b = this.bestSlot;
      if (b === NONE || s < this.size[b]!) this.bestSlot = t;
    }
    this.searchBest(bottomUp ? this.right[t]! : this.left[t]!, n, bottomUp);
  }

  // ---- hash table of allocated blocks, keyed by address (linear probing, backward-shift deletion) ----

  private hash(key: number): number {
    // Fibonacci hashing on the low 32 bits xor the high bits; addresses are multiples of the alignment.
    const x = (key >>> 0) ^ ((key / 4294967296) >>> 0);
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
