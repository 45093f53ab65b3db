/**
 * The ordered index of a region's free blocks: a B+ tree of fixed fan-out kept in typed arrays over a
 * caller-provided buffer (plain or shared). Every entry carries the largest free size of what it covers,
 * so a fitting block is found by scanning a few short arrays of maxima from the root down.
 *
 * Two orders, fixed when the tree is built:
 * - BY_ADDRESS (first fit): keyed by address; the lowest (highest) fitting address is the first (last)
 *   entry whose maximum fits, at every level;
 * - BY_SIZE (best fit): keyed by (size, second key), the second key the caller's (FreeList passes minus a
 *   recency stamp; the tree tests pass addresses); the smallest fitting block with the least second key
 *   is found the same way (maxima in size order), the greatest second key among equal sizes by the keys.
 *
 * Why a B+ tree (issue 17 item 4): a binary tree pays a hard-to-predict branch and a dependent load per
 * level (~14 levels at a thousand holes); here a level is a short, sequential scan of one node's entries,
 * three levels cover thousands of holes, and a shrunk or grown block only rescans its own node unless its
 * node's maximum changes. Placements do not depend on the index's shape: keys are unique, so any correct
 * ordered index picks the same block (test/device/allocator-reference.test.ts checks it against the
 * previous treap).
 *
 * Layout: node x's entries are at x * FANOUT .. x * FANOUT + count - 1 of the entry arrays. A leaf's
 * entry is a free block (its slot, key and size); an inner entry is a child (its node, the key of its
 * first block and the largest size below it). Every node but the root holds at least FANOUT / 2 entries,
 * which bounds the nodes a capacity needs (see nodesFor). Unused nodes are chained through `parent`.
 *
 * Size (why ~660 lines in one file): search, insertion with splits, removal with merges and the upward
 * fixes of keys and maxima all read and write the same private node layout, on the allocator's hot path;
 * split across modules, the layout would have to become public and its constants cross a module
 * boundary, which V8 re-reads at every use (see NIL below). The inspection for tests, which reads the
 * layout but is not on the hot path, is free-tree-check.ts.
 */

import { BufferCarver } from "./buffer-carver.js";
import type { FreeTreeArrays } from "./free-tree-check.js";

/**
 * "No node / no slot". Hot code reads the private NIL instead: V8 keeps an exported binding in a module
 * cell and re-reads and hole-checks it at every use, even in optimised code; a private constant folds.
 */
const NIL = -1;
export const NONE = NIL;

export const TreeOrder = { BY_ADDRESS: 0, BY_SIZE: 1 } as const;
export type TreeOrder = (typeof TreeOrder)[keyof typeof TreeOrder];

/** Entries per node. 16: a node's maxima fill two cache lines; splits and shifts stay short. */
const FANOUT = 16;
/** Entries every node but the root keeps (a node that falls below merges with or borrows from a sibling). */
const MIN_FILL = FANOUT / 2;
/** The node geometry, for free-tree-check.ts (hot code here reads the private constants above). */
export const TREE_FANOUT = FANOUT;
export const TREE_MIN_FILL = MIN_FILL;

// Int32 header
const T_ROOT = 0;
/** Levels: 1 while the root is a leaf. */
const T_HEIGHT = 1;
const T_COUNT = 2;
/** First unused node (the chain continues through `parent`). */
const T_UNUSED = 3;
const HEADER_INTS = 4;

/** Nodes a tree of `capacity` entries can need: full-enough nodes at every level, the root, one spare. */
function nodesFor(capacity: number): number {
  let total = 2;
  let n = Math.ceil(capacity / MIN_FILL);
  while (n > 1) {
    total += n;
    n = Math.ceil(n / MIN_FILL);
  }
  return total;
}

export class FreeTree {
  /** Bytes of buffer a tree for `capacity` blocks needs (a multiple of 8). */
  static byteLength(capacity: number): number {
    const nodes = nodesFor(capacity);
    const entries = nodes * FANOUT;
    // 3 Float64 entry arrays; header, 3 Int32 node arrays, the Int32 entry array and the slots' leaves.
    const ints = HEADER_INTS + 3 * nodes + entries + capacity;
    return 3 * 8 * entries + Math.ceil((ints * 4) / 8) * 8;
  }

  private readonly header: Int32Array;
  /** Per entry: key (address BY_ADDRESS, size BY_SIZE) and second key (the caller's BY_SIZE, else 0). */
  private readonly key: Float64Array;
  private readonly key2: Float64Array;
  /** Per entry: the block's size (leaf) or the largest size below (inner). */
  private readonly max: Float64Array;
  /** Per entry: the block slot (leaf) or the child node (inner). */
  private readonly ref: Int32Array;
  private readonly fill: Int32Array;
  private readonly parent: Int32Array;
  /** Per node: its entry in its parent (an index into the entry arrays), NIL for the root. */
  private readonly entryOf: Int32Array;
  /** Per block slot: the leaf holding it, or NIL when the block is not free. */
  private readonly leafOf: Int32Array;
  private readonly nodes: number;
  private readonly bySize: boolean;
  /**
   * The leaf entry of the block the last search returned: the allocation that follows resizes or removes
   * that very block. Only a hint (checked before use): another thread may have changed the tree since.
   */
  private foundEntry = 0;

  constructor(
    buffer: ArrayBufferLike,
    byteOffset: number,
    readonly capacity: number,
    readonly order: TreeOrder,
  ) {
    const nodes = nodesFor(capacity);
    this.nodes = nodes;
    const carve = new BufferCarver(buffer, byteOffset);
    this.key = carve.doubles(nodes * FANOUT);
    this.key2 = carve.doubles(nodes * FANOUT);
    this.max = carve.doubles(nodes * FANOUT);
    this.header = carve.ints(HEADER_INTS);
    this.fill = carve.ints(nodes);
    this.parent = carve.ints(nodes);
    this.entryOf = carve.ints(nodes);
    this.ref = carve.ints(nodes * FANOUT);
    this.leafOf = carve.ints(capacity);
    this.bySize = order === TreeOrder.BY_SIZE;
  }

  /** Empties the tree. Only the creator of the buffer calls this. */
  format(): void {
    for (let x = 0; x < this.nodes; x++) this.parent[x] = x + 1 < this.nodes ? x + 1 : NIL;
    this.header[T_UNUSED] = 0;
    const root = this.takeNode();
    this.parent[root] = NIL;
    this.entryOf[root] = NIL;
    this.header[T_ROOT] = root;
    this.header[T_HEIGHT] = 1;
    this.header[T_COUNT] = 0;
    this.leafOf.fill(NIL);
    // BY_ADDRESS never writes a second key but 0, nor moves one: they must start at 0.
    this.key2.fill(0);
  }

  /** Free blocks in the tree. */
  get count(): number {
    return this.header[T_COUNT]!;
  }

  /** Size of the largest free block, bytes (0 when there is none). */
  get largestBytes(): number {
    const root = this.header[T_ROOT]!;
    return this.nodeMax(root * FANOUT, this.fill[root]!);
  }

  /** Adds the free block `slot` at `address` (BY_SIZE: its second key) of `sizeBytes`. */
  insert(slot: number, address: number, sizeBytes: number): void {
    this.header[T_COUNT]!++;
    this.add(slot, address, sizeBytes);
  }

  /** Removes the free block `slot`. */
  remove(slot: number): void {
    this.header[T_COUNT]!--;
    this.delete(slot);
  }

  /**
   * The free block `slot` now starts at `address` (BY_SIZE: has second key `address`) and spans
   * `sizeBytes`. BY_ADDRESS: the caller guarantees the block did not move past another free block
   * (address order holds).
   */
  resize(slot: number, address: number, sizeBytes: number): void {
    if (this.bySize) {
      if (this.resizeInPlace(slot, address, sizeBytes)) return;
      this.delete(slot);
      this.add(slot, address, sizeBytes);
      return;
    }
    const x = this.leafOf[slot]!;
    const e = this.entryOfSlot(x, slot);
    const old = this.max[e]!;
    this.max[e] = sizeBytes;
    if (e === x * FANOUT && this.key[e] !== address) {
      this.key[e] = address;
      this.fixKey(x);
    } else {
      this.key[e] = address;
    }
    if (sizeBytes > old) this.raise(x, sizeBytes);
    else if (sizeBytes < old) this.lower(x, old);
  }

  /**
   * BY_SIZE: resizes in place when the new key still falls between the entry's neighbours in its leaf
   * (the last entry may only shrink, the first only grow: the neighbouring leaves bound them the other way);
   * returns false (nothing changed) otherwise.
   */
  private resizeInPlace(slot: number, address: number, sizeBytes: number): boolean {
    const key = this.key;
    const key2 = this.key2;
    const x = this.leafOf[slot]!;
    const base = x * FANOUT;
    const e = this.entryOfSlot(x, slot);
    const last = base + this.fill[x]! - 1;
    const old = key[e]!;
    const oldAddress = key2[e]!;
    const grows = sizeBytes > old || (sizeBytes === old && address > oldAddress);
    // A root leaf has no neighbouring leaves: only its own entries bound the key.
    const root = this.parent[x] === NIL;
    if (e > base) {
      const k = key[e - 1]!;
      if (!(k < sizeBytes || (k === sizeBytes && key2[e - 1]! < address))) return false;
    } else if (!grows && !root) {
      return false;
    }
    if (e < last) {
      const k = key[e + 1]!;
      if (!(sizeBytes < k || (sizeBytes === k && address < key2[e + 1]!))) return false;
    } else if (grows && !root) {
      return false;
    }
    key[e] = sizeBytes;
    key2[e] = address;
    this.max[e] = sizeBytes;
    if (e === base) this.fixKey(x);
    if (sizeBytes > old) this.raise(x, sizeBytes);
    else if (sizeBytes < old) this.lower(x, old);
    return true;
  }

  /** The entry of `slot` in its leaf x: the last search's hint when it still holds, else a scan. */
  private entryOfSlot(x: number, slot: number): number {
    const base = x * FANOUT;
    const e = this.foundEntry;
    if (e >= base && e < base + this.fill[x]! && this.ref[e] === slot) return e;
    return this.indexOf(base, slot);
  }

  /** BY_ADDRESS: the lowest-addressed (bottom-up) or highest-addressed free block of at least `n` bytes. */
  findFirst(n: number, bottomUp: boolean): number {
    return bottomUp ? this.firstFitting(n) : this.lastFitting(n);
  }

  /**
   * BY_SIZE: the smallest free block of at least `n` bytes; among equal sizes the least second key
   * (`leastKey`) or the greatest.
   */
  findBest(n: number, leastKey: boolean): number {
    const slot = this.firstFitting(n);
    if (slot === NIL || leastKey) return slot;
    // The last block of that size, i.e. the last key <= (size, +inf).
    const s = this.max[this.foundEntry]!;
    const key = this.key;
    const count = this.fill;
    const ref = this.ref;
    let x = this.header[T_ROOT]!;
    for (let level = this.header[T_HEIGHT]!; ; level--) {
      const base = x * FANOUT;
      // Entry 0's key is <= s on the whole path: the first fitting block has size s.
      let e = base + count[x]! - 1;
      while (key[e]! > s) e--;
      if (level === 1) {
        this.foundEntry = e;
        return ref[e]!;
      }
      x = ref[e]!;
    }
  }

  /** The tree's arrays and header, read-only by contract: for the checks in free-tree-check.ts. */
  inspect(): FreeTreeArrays {
    return {
      root: this.header[T_ROOT]!,
      height: this.header[T_HEIGHT]!,
      count: this.header[T_COUNT]!,
      firstUnused: this.header[T_UNUSED]!,
      nodes: this.nodes,
      bySize: this.bySize,
      key: this.key,
      key2: this.key2,
      max: this.max,
      ref: this.ref,
      fill: this.fill,
      parent: this.parent,
      entryOf: this.entryOf,
      leafOf: this.leafOf,
    };
  }

  // ---- search ----

  /** The first block in tree order of at least `n` bytes, or NIL. */
  private firstFitting(n: number): number {
    const max = this.max;
    const count = this.fill;
    const ref = this.ref;
    let x = this.header[T_ROOT]!;
    for (let level = this.header[T_HEIGHT]!; ; level--) {
      const base = x * FANOUT;
      const end = base + count[x]!;
      let e = base;
      while (e < end && max[e]! < n) e++;
      // Only the root can lack a fitting entry: below it, the parent's maximum promised one.
      if (e === end) return NIL;
      if (level === 1) {
        this.foundEntry = e;
        return ref[e]!;
      }
      x = ref[e]!;
    }
  }

  /** The last block in tree order of at least `n` bytes, or NIL. */
  private lastFitting(n: number): number {
    const max = this.max;
    const count = this.fill;
    const ref = this.ref;
    let x = this.header[T_ROOT]!;
    for (let level = this.header[T_HEIGHT]!; ; level--) {
      const base = x * FANOUT;
      let e = base + count[x]! - 1;
      while (e >= base && max[e]! < n) e--;
      if (e < base) return NIL;
      if (level === 1) {
        this.foundEntry = e;
        return ref[e]!;
      }
      x = ref[e]!;
    }
  }

  /** Largest size among the `c` entries at `base` (0 when none). */
  private nodeMax(base: number, c: number): number {
    const max = this.max;
    // BY_SIZE: entries are in size order, so their maxima are too.
    if (this.bySize) return c > 0 ? max[base + c - 1]! : 0;
    let m = 0;
    for (let e = base; e < base + c; e++) if (max[e]! > m) m = max[e]!;
    return m;
  }

  /** The entry at or after `base` whose ref is `r` (r is there). */
  private indexOf(base: number, r: number): number {
    const ref = this.ref;
    let e = base;
    while (ref[e] !== r) e++;
    return e;
  }

  // ---- insertion ----

  private add(slot: number, address: number, sizeBytes: number): void {
    const bySize = this.bySize;
    const k = bySize ? sizeBytes : address;
    const k2 = bySize ? address : 0;
    const key = this.key;
    const key2 = this.key2;
    const max = this.max;
    const count = this.fill;
    let x = this.header[T_ROOT]!;
    for (let level = this.header[T_HEIGHT]!; level > 1; level--) {
      const base = x * FANOUT;
      const end = base + count[x]!;
      // The last child whose first key is <= the new key, or the first child (which then starts with it).
      let e = base + 1;
      while (e < end && key[e]! < k) e++;
      if (bySize) while (e < end && key[e] === k && key2[e]! < k2) e++;
      e--;
      if (e === base && (k < key[e]! || (k === key[e] && k2 < key2[e]!))) {
        key[e] = k;
        key2[e] = k2;
      }
      if (max[e]! < sizeBytes) max[e] = sizeBytes;
      x = this.ref[e]!;
    }
    const base = x * FANOUT;
    const end = base + count[x]!;
    let e = base;
    while (e < end && key[e]! < k) e++;
    if (bySize) while (e < end && key[e] === k && key2[e]! < k2) e++;
    this.place(x, 1, e - base, k, k2, sizeBytes, slot);
  }

  /** Puts an entry at position p of node x (on `level`), splitting x when it is full. */
  private place(x: number, level: number, p: number, k: number, k2: number, m: number, r: number): void {
    const c = this.fill[x]!;
    if (c < FANOUT) {
      this.insertEntry(x, level, p, k, k2, m, r);
      return;
    }
    // Split: x keeps the first half of the FANOUT + 1 entries, a new node y takes the rest.
    const y = this.takeNode();
    const keep = (FANOUT + 2) >> 1;
    if (p < keep) {
      this.moveEntries(x, keep - 1, y, 0, FANOUT - keep + 1, level);
      this.fill[x] = keep - 1;
      this.fill[y] = FANOUT - keep + 1;
      this.insertEntry(x, level, p, k, k2, m, r);
    } else {
      this.moveEntries(x, keep, y, 0, FANOUT - keep, level);
      this.fill[x] = keep;
      this.fill[y] = FANOUT - keep;
      this.insertEntry(y, level, p - keep, k, k2, m, r);
    }
    const q = this.parent[x]!;
    const yBase = y * FANOUT;
    const yMax = this.nodeMax(yBase, this.fill[y]!);
    const xMax = this.nodeMax(x * FANOUT, this.fill[x]!);
    if (q === NIL) {
      const root = this.takeNode();
      this.parent[root] = NIL;
      this.entryOf[root] = NIL;
      this.header[T_ROOT] = root;
      this.header[T_HEIGHT]!++;
      const xBase = x * FANOUT;
      this.insertEntry(root, level + 1, 0, this.key[xBase]!, this.key2[xBase]!, xMax, x);
      this.insertEntry(root, level + 1, 1, this.key[yBase]!, this.key2[yBase]!, yMax, y);
      return;
    }
    this.parent[y] = q;
    const ex = this.entryOf[x]!;
    this.max[ex] = xMax;
    this.place(q, level + 1, ex - q * FANOUT + 1, this.key[yBase]!, this.key2[yBase]!, yMax, y);
  }

  /** Inserts at position p of node x, which has room. */
  private insertEntry(
    x: number,
    level: number,
    p: number,
    k: number,
    k2: number,
    m: number,
    r: number,
  ): void {
    const base = x * FANOUT;
    const c = this.fill[x]!;
    const key = this.key;
    const key2 = this.key2;
    const max = this.max;
    const ref = this.ref;
    for (let e = base + c; e > base + p; e--) {
      key[e] = key[e - 1]!;
      max[e] = max[e - 1]!;
      ref[e] = ref[e - 1]!;
    }
    // BY_ADDRESS leaves every second key 0: nothing to move.
    if (this.bySize) for (let e = base + c; e > base + p; e--) key2[e] = key2[e - 1]!;
    const e = base + p;
    key[e] = k;
    key2[e] = k2;
    max[e] = m;
    ref[e] = r;
    this.fill[x] = c + 1;
    if (level === 1) {
      this.leafOf[r] = x;
    } else {
      this.parent[r] = x;
      for (let f = e; f <= base + c; f++) this.entryOf[ref[f]!] = f;
    }
  }

  /** Copies n entries from (x, i) to (y, j) and points their blocks or children at y. */
  private moveEntries(x: number, i: number, y: number, j: number, n: number, level: number): void {
    const from = x * FANOUT + i;
    const to = y * FANOUT + j;
    for (let d = 0; d < n; d++) {
      const r = this.ref[from + d]!;
      this.key[to + d] = this.key[from + d]!;
      if (this.bySize) this.key2[to + d] = this.key2[from + d]!;
      this.max[to + d] = this.max[from + d]!;
      this.ref[to + d] = r;
      if (level === 1) {
        this.leafOf[r] = y;
      } else {
        this.parent[r] = y;
        this.entryOf[r] = to + d;
      }
    }
  }

  // ---- removal ----

  private delete(slot: number): void {
    const x = this.leafOf[slot]!;
    this.leafOf[slot] = NIL;
    this.removeEntry(x, 1, this.entryOfSlot(x, slot) - x * FANOUT);
  }

  /** Takes entry i out of node x (on `level`), then restores keys, maxima and fill above it. */
  private removeEntry(x: number, level: number, i: number): void {
    const base = x * FANOUT;
    const c = this.fill[x]! - 1;
    const removedMax = this.max[base + i]!;
    const key = this.key;
    const key2 = this.key2;
    const max = this.max;
    const ref = this.ref;
    for (let e = base + i; e < base + c; e++) {
      key[e] = key[e + 1]!;
      max[e] = max[e + 1]!;
      ref[e] = ref[e + 1]!;
    }
    if (this.bySize) for (let e = base + i; e < base + c; e++) key2[e] = key2[e + 1]!;
    this.fill[x] = c;
    if (level > 1) for (let e = base + i; e < base + c; e++) this.entryOf[ref[e]!] = e;
    const q = this.parent[x]!;
    if (q === NIL) {
      if (level > 1 && c === 1) {
        // An inner root with one child: the child becomes the root.
        const child = ref[base]!;
        this.parent[child] = NIL;
        this.entryOf[child] = NIL;
        this.header[T_ROOT] = child;
        this.header[T_HEIGHT]!--;
        this.releaseNode(x);
      }
      return;
    }
    if (i === 0) this.fixKey(x);
    if (c >= MIN_FILL) {
      if (removedMax >= max[this.entryOf[x]!]!) this.lower(x, removedMax);
      return;
    }
    this.rebalance(x, level, q);
  }

  /** Node x (not the root) fell below MIN_FILL: merge it with a sibling, or share their entries evenly. */
  private rebalance(x: number, level: number, q: number): void {
    const qBase = q * FANOUT;
    const ex = this.entryOf[x]!;
    // The sibling before x if there is one, else the one after (q has at least two children).
    const el = ex > qBase ? ex - 1 : ex;
    const l = this.ref[el]!;
    const r = this.ref[el + 1]!;
    const cl = this.fill[l]!;
    const cr = this.fill[r]!;
    if (cl + cr <= FANOUT) {
      this.moveEntries(r, 0, l, cl, cr, level);
      this.fill[l] = cl + cr;
      this.fill[r] = 0;
      this.max[el] = this.nodeMax(l * FANOUT, cl + cr);
      this.releaseNode(r);
      // q loses r's entry (not its first): that fixes q's fill; its maximum may have dropped too.
      this.removeEntry(q, level + 1, el + 1 - qBase);
      if (this.parent[l] === q) this.lowerFrom(q);
      return;
    }
    // Share the entries evenly (not one borrowed entry): x then takes a few more removals before it
    // falls short again.
    const rBase = r * FANOUT;
    const half = (cl + cr) >> 1;
    if (x === l) {
      const k = half - cl;
      this.moveEntries(r, 0, l, cl, k, level);
      for (let e = rBase; e < rBase + cr - k; e++) {
        this.key[e] = this.key[e + k]!;
        this.key2[e] = this.key2[e + k]!;
        this.max[e] = this.max[e + k]!;
        this.ref[e] = this.ref[e + k]!;
      }
      this.fill[l] = half;
      this.fill[r] = cr - k;
    } else {
      const k = cl - half;
      for (let e = rBase + cr - 1; e >= rBase; e--) {
        this.key[e + k] = this.key[e]!;
        this.key2[e + k] = this.key2[e]!;
        this.max[e + k] = this.max[e]!;
        this.ref[e + k] = this.ref[e]!;
      }
      this.moveEntries(l, half, r, 0, k, level);
      this.fill[l] = half;
      this.fill[r] = cr + k;
    }
    if (level > 1) for (let e = rBase; e < rBase + this.fill[r]!; e++) this.entryOf[this.ref[e]!] = e;
    this.key[el + 1] = this.key[rBase]!;
    this.key2[el + 1] = this.key2[rBase]!;
    this.max[el] = this.nodeMax(l * FANOUT, this.fill[l]!);
    this.max[el + 1] = this.nodeMax(rBase, this.fill[r]!);
    this.lowerFrom(q);
  }

  // ---- keys and maxima above a node ----

  /** Node x's first key changed: copy it into its parent's entry, and on up while it is a first entry. */
  private fixKey(x: number): void {
    const xBase = x * FANOUT;
    const k = this.key[xBase]!;
    const k2 = this.key2[xBase]!;
    for (let q = this.parent[x]!; q !== NIL; q = this.parent[q]!) {
      const e = this.entryOf[x]!;
      this.key[e] = k;
      this.key2[e] = k2;
      if (e !== q * FANOUT) return;
      x = q;
    }
  }

  /** An entry of node x grew to m: raise the maxima above x until one already covers m. */
  private raise(x: number, m: number): void {
    for (let q = this.parent[x]!; q !== NIL; q = this.parent[q]!) {
      const e = this.entryOf[x]!;
      if (this.max[e]! >= m) return;
      this.max[e] = m;
      x = q;
    }
  }

  /** An entry of node x of size `old` shrank or left: recompute the maxima above while old was theirs. */
  private lower(x: number, old: number): void {
    for (let q = this.parent[x]!; q !== NIL; q = this.parent[q]!) {
      const e = this.entryOf[x]!;
      if (this.max[e]! > old) return;
      const m = this.nodeMax(x * FANOUT, this.fill[x]!);
      if (this.max[e] === m) return;
      this.max[e] = m;
      x = q;
    }
  }

  /** Node x's entries are right but its maximum may have changed: recompute upwards until one holds. */
  private lowerFrom(x: number): void {
    for (let q = this.parent[x]!; q !== NIL; q = this.parent[q]!) {
      const e = this.entryOf[x]!;
      const m = this.nodeMax(x * FANOUT, this.fill[x]!);
      if (this.max[e] === m) return;
      this.max[e] = m;
      x = q;
    }
  }

  // ---- nodes ----

  /**
   * A node from the unused chain. It cannot be empty, so there is no check: the tree never holds more
   * than `capacity` entries (one per free block, each its own slot), every node but the root keeps at
   * least MIN_FILL entries (a split leaves two halves of at least MIN_FILL; a node below it merges or
   * shares with a sibling, after which both hold at least MIN_FILL), and a split takes its node(s) only
   * for the state it leaves, which obeys both rules. So level 1 needs at most ceil(capacity / MIN_FILL)
   * nodes, each level above at most ceil(below / MIN_FILL), plus the root: what nodesFor() reserves,
   * with one spare. allocator-free-tree-index.test.ts fills trees of many capacities to the last slot.
   */
  private takeNode(): number {
    const x = this.header[T_UNUSED]!;
    this.header[T_UNUSED] = this.parent[x]!;
    this.fill[x] = 0;
    return x;
  }

  private releaseNode(x: number): void {
    this.parent[x] = this.header[T_UNUSED]!;
    this.header[T_UNUSED] = x;
  }
}
