/**
 * Best fit's ordered index of the free blocks that have no size list (sizes too large or not a whole
 * number of granules; see best-fit-index.ts): a B+ tree of fixed fan-out kept in typed arrays over a
 * caller-provided buffer (plain or shared), keyed by (size, second key). The second key is the caller's
 * (BestFitIndex passes minus a recency stamp; the tree tests pass addresses); keys are unique.
 *
 * An inner entry holds the key of the last (largest) block below it, so the size part of that key is
 * also the largest free size below: the smallest fitting block with the least second key is the first
 * entry whose size fits, at every level. No separate maxima to keep.
 *
 * Why a B+ tree (issue 17 item 4): a binary tree pays a hard-to-predict branch and a dependent load per
 * level (~14 levels at a thousand holes); here a level is a short, sequential scan of one node's keys,
 * three levels cover thousands of holes, and a resized block only touches its own leaf unless it is the
 * leaf's last. Placements do not depend on the index's shape: keys are unique, so any correct ordered
 * index picks the same block (test/device/allocator-reference.test.ts checks it against the previous
 * treap).
 *
 * Layout: node x's entries are at x * FANOUT .. x * FANOUT + count - 1 of the entry arrays. A leaf's
 * entry is a free block (its slot and key: size, second key); an inner entry is a child (its node and
 * the key of the last block below it). Every node but the root holds at least FANOUT / 2 entries, which
 * bounds the nodes a capacity needs (see nodesFor). Unused nodes are chained through `parent`.
 *
 * Size (why ~510 lines in one file): search, insertion with splits, removal with merges and the upward
 * fixes of last keys all read and write the same private node layout, on the allocator's hot path;
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

/** Entries per node. 16: a node's sizes fill two cache lines; splits and shifts stay short. */
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
    // 2 Float64 entry arrays; header, 3 Int32 node arrays, the Int32 entry array and the slots' leaves.
    const ints = HEADER_INTS + 3 * nodes + entries + capacity;
    return 2 * 8 * entries + Math.ceil((ints * 4) / 8) * 8;
  }

  private readonly header: Int32Array;
  /**
   * Per entry: the key, size then second key, of the block (leaf) or of the last block below (inner).
   * The size is the block's, in bytes (leaf), or the largest free size below (inner).
   */
  private readonly key: Float64Array;
  private readonly key2: Float64Array;
  /** Per entry: the block slot (leaf) or the child node (inner). */
  private readonly ref: Int32Array;
  private readonly fill: Int32Array;
  private readonly parent: Int32Array;
  /** Per node: its entry in its parent (an index into the entry arrays), NIL for the root. */
  private readonly entryOf: Int32Array;
  /** Per block slot: the leaf holding it, or NIL when the block is not free. */
  private readonly leafOf: Int32Array;
  private readonly nodes: number;
  /**
   * The leaf entry of the block the last search returned: the allocation that follows resizes or removes
   * that very block. Only a hint (checked before use): another thread may have changed the tree since.
   */
  private foundEntry = 0;

  constructor(
    buffer: ArrayBufferLike,
    byteOffset: number,
    readonly capacity: number,
  ) {
    const nodes = nodesFor(capacity);
    this.nodes = nodes;
    const carve = new BufferCarver(buffer, byteOffset);
    this.key = carve.doubles(nodes * FANOUT);
    this.key2 = carve.doubles(nodes * FANOUT);
    this.header = carve.ints(HEADER_INTS);
    this.fill = carve.ints(nodes);
    this.parent = carve.ints(nodes);
    this.entryOf = carve.ints(nodes);
    this.ref = carve.ints(nodes * FANOUT);
    this.leafOf = carve.ints(capacity);
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
  }

  /** Free blocks in the tree. */
  get count(): number {
    return this.header[T_COUNT]!;
  }

  /** Size of the largest free block, bytes (0 when there is none): the root's last key. */
  get largestBytes(): number {
    const root = this.header[T_ROOT]!;
    const c = this.fill[root]!;
    return c > 0 ? this.key[root * FANOUT + c - 1]! : 0;
  }

  /** Adds the free block `slot` of `sizeBytes` with second key `secondKey`. */
  insert(slot: number, secondKey: number, sizeBytes: number): void {
    this.header[T_COUNT]!++;
    this.add(slot, secondKey, sizeBytes);
  }

  /** Removes the free block `slot`. */
  remove(slot: number): void {
    this.header[T_COUNT]!--;
    this.delete(slot);
  }

  /** The free block `slot` now spans `sizeBytes` and has second key `secondKey`. */
  resize(slot: number, secondKey: number, sizeBytes: number): void {
    if (this.resizeInPlace(slot, secondKey, sizeBytes)) return;
    this.delete(slot);
    this.add(slot, secondKey, sizeBytes);
  }

  /** The smallest free block of at least `n` bytes, among equal sizes the least second key; or NIL. */
  findBest(n: number): number {
    const key = this.key;
    const count = this.fill;
    const ref = this.ref;
    let x = this.header[T_ROOT]!;
    for (let level = this.header[T_HEIGHT]!; ; level--) {
      const base = x * FANOUT;
      const end = base + count[x]!;
      let e = base;
      while (e < end && key[e]! < n) e++;
      // Only the root can lack a fitting entry: below it, the parent's last key promised one.
      if (e === end) return NIL;
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
      key: this.key,
      key2: this.key2,
      ref: this.ref,
      fill: this.fill,
      parent: this.parent,
      entryOf: this.entryOf,
      leafOf: this.leafOf,
    };
  }

  /**
   * Resizes in place when the new key still falls between the entry's neighbours in its leaf (the last
   * entry may only shrink, the first only grow: the neighbouring leaves bound them the other way);
   * returns false (nothing changed) otherwise.
   */
  private resizeInPlace(slot: number, secondKey: number, sizeBytes: number): boolean {
    const key = this.key;
    const key2 = this.key2;
    const x = this.leafOf[slot]!;
    const base = x * FANOUT;
    const e = this.entryOfSlot(x, slot);
    const last = base + this.fill[x]! - 1;
    const old = key[e]!;
    const grows = sizeBytes > old || (sizeBytes === old && secondKey > key2[e]!);
    // A root leaf has no neighbouring leaves: only its own entries bound the key.
    const root = this.parent[x] === NIL;
    if (e > base) {
      const k = key[e - 1]!;
      if (!(k < sizeBytes || (k === sizeBytes && key2[e - 1]! < secondKey))) return false;
    } else if (!grows && !root) {
      return false;
    }
    if (e < last) {
      const k = key[e + 1]!;
      if (!(sizeBytes < k || (sizeBytes === k && secondKey < key2[e + 1]!))) return false;
    } else if (grows && !root) {
      return false;
    }
    key[e] = sizeBytes;
    key2[e] = secondKey;
    if (e === last) this.fixLast(x);
    return true;
  }

  /** The entry of `slot` in its leaf x: the last search's hint when it still holds, else a scan. */
  private entryOfSlot(x: number, slot: number): number {
    const base = x * FANOUT;
    const e = this.foundEntry;
    if (e >= base && e < base + this.fill[x]! && this.ref[e] === slot) return e;
    const ref = this.ref;
    let f = base;
    while (ref[f] !== slot) f++;
    return f;
  }

  // ---- insertion ----

  private add(slot: number, k2: number, k: number): void {
    const key = this.key;
    const key2 = this.key2;
    const count = this.fill;
    let x = this.header[T_ROOT]!;
    for (let level = this.header[T_HEIGHT]!; level > 1; level--) {
      const base = x * FANOUT;
      const end = base + count[x]!;
      // The first child whose last key is above the new key, or the last child, whose last key it becomes.
      let e = base;
      while (e < end && key[e]! < k) e++;
      while (e < end && key[e] === k && key2[e]! < k2) e++;
      if (e === end) {
        e--;
        key[e] = k;
        key2[e] = k2;
      }
      x = this.ref[e]!;
    }
    const base = x * FANOUT;
    const end = base + count[x]!;
    let e = base;
    while (e < end && key[e]! < k) e++;
    while (e < end && key[e] === k && key2[e]! < k2) e++;
    this.place(x, 1, e - base, k, k2, slot);
  }

  /** Puts an entry at position p of node x (on `level`), splitting x when it is full. */
  private place(x: number, level: number, p: number, k: number, k2: number, r: number): void {
    const c = this.fill[x]!;
    if (c < FANOUT) {
      this.insertEntry(x, level, p, k, k2, r);
      return;
    }
    // Split: x keeps the first half of the FANOUT + 1 entries, a new node y takes the rest.
    const y = this.takeNode();
    const keep = (FANOUT + 2) >> 1;
    if (p < keep) {
      this.moveEntries(x, keep - 1, y, 0, FANOUT - keep + 1, level);
      this.fill[x] = keep - 1;
      this.fill[y] = FANOUT - keep + 1;
      this.insertEntry(x, level, p, k, k2, r);
    } else {
      this.moveEntries(x, keep, y, 0, FANOUT - keep, level);
      this.fill[x] = keep;
      this.fill[y] = FANOUT - keep;
      this.insertEntry(y, level, p - keep, k, k2, r);
    }
    const key = this.key;
    const key2 = this.key2;
    const q = this.parent[x]!;
    const xLast = x * FANOUT + this.fill[x]! - 1;
    const yLast = y * FANOUT + this.fill[y]! - 1;
    if (q === NIL) {
      const root = this.takeNode();
      this.parent[root] = NIL;
      this.entryOf[root] = NIL;
      this.header[T_ROOT] = root;
      this.header[T_HEIGHT]!++;
      this.insertEntry(root, level + 1, 0, key[xLast]!, key2[xLast]!, x);
      this.insertEntry(root, level + 1, 1, key[yLast]!, key2[yLast]!, y);
      return;
    }
    // y takes x's place as the holder of the last key in q's entry (add already set it); x gets its own.
    this.parent[y] = q;
    const ex = this.entryOf[x]!;
    key[ex] = key[xLast]!;
    key2[ex] = key2[xLast]!;
    this.place(q, level + 1, ex - q * FANOUT + 1, key[yLast]!, key2[yLast]!, y);
  }

  /** Inserts at position p of node x, which has room. */
  private insertEntry(x: number, level: number, p: number, k: number, k2: number, r: number): void {
    const base = x * FANOUT;
    const c = this.fill[x]!;
    const key = this.key;
    const key2 = this.key2;
    const ref = this.ref;
    for (let e = base + c; e > base + p; e--) {
      key[e] = key[e - 1]!;
      key2[e] = key2[e - 1]!;
      ref[e] = ref[e - 1]!;
    }
    const e = base + p;
    key[e] = k;
    key2[e] = k2;
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
      this.key2[to + d] = this.key2[from + d]!;
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

  /** Takes entry i out of node x (on `level`), then restores last keys and fill above it. */
  private removeEntry(x: number, level: number, i: number): void {
    const base = x * FANOUT;
    const c = this.fill[x]! - 1;
    const key = this.key;
    const key2 = this.key2;
    const ref = this.ref;
    for (let e = base + i; e < base + c; e++) {
      key[e] = key[e + 1]!;
      key2[e] = key2[e + 1]!;
      ref[e] = ref[e + 1]!;
    }
    this.fill[x] = c;
    if (level > 1) for (let e = base + i; e < base + c; e++) this.entryOf[ref[e]!] = e;
    if (this.parent[x] === NIL) {
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
    if (c >= MIN_FILL) {
      if (i === c) this.fixLast(x);
      return;
    }
    this.rebalance(x, level);
  }

  /**
   * Node x (not the root) fell below MIN_FILL: merge it with a sibling, or share their entries evenly.
   * x's entry in its parent may be stale (x may have lost its last entry): the keys come from the nodes.
   */
  private rebalance(x: number, level: number): void {
    const key = this.key;
    const key2 = this.key2;
    const q = this.parent[x]!;
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
      const lLast = l * FANOUT + cl + cr - 1;
      key[el] = key[lLast]!;
      key2[el] = key2[lLast]!;
      this.releaseNode(r);
      // q loses r's entry (not its first): that fixes q's fill, and its last key when r was its last.
      this.removeEntry(q, level + 1, el + 1 - qBase);
      return;
    }
    // Share the entries evenly (not one borrowed entry): x then takes a few more removals before it
    // falls short again.
    const ref = this.ref;
    const rBase = r * FANOUT;
    const half = (cl + cr) >> 1;
    if (x === l) {
      const k = half - cl;
      this.moveEntries(r, 0, l, cl, k, level);
      for (let e = rBase; e < rBase + cr - k; e++) {
        key[e] = key[e + k]!;
        key2[e] = key2[e + k]!;
        ref[e] = ref[e + k]!;
      }
      this.fill[l] = half;
      this.fill[r] = cr - k;
    } else {
      const k = cl - half;
      for (let e = rBase + cr - 1; e >= rBase; e--) {
        key[e + k] = key[e]!;
        key2[e + k] = key2[e]!;
        ref[e + k] = ref[e]!;
      }
      this.moveEntries(l, half, r, 0, k, level);
      this.fill[l] = half;
      this.fill[r] = cr + k;
    }
    if (level > 1) for (let e = rBase; e < rBase + this.fill[r]!; e++) this.entryOf[ref[e]!] = e;
    const lLast = l * FANOUT + half - 1;
    const rLast = rBase + this.fill[r]! - 1;
    key[el] = key[lLast]!;
    key2[el] = key2[lLast]!;
    key[el + 1] = key[rLast]!;
    key2[el + 1] = key2[rLast]!;
    // r may be q's last child and x = r may have lost its last entry: q's last key may have changed.
    this.fixLast(q);
  }

  // ---- last keys above a node ----

  /**
   * Node x's last key may have changed: copy it into its parent's entry, and on up while that entry is
   * its node's last, stopping where an entry already holds it.
   */
  private fixLast(x: number): void {
    const key = this.key;
    const key2 = this.key2;
    const xLast = x * FANOUT + this.fill[x]! - 1;
    const k = key[xLast]!;
    const k2 = key2[xLast]!;
    for (let q = this.parent[x]!; q !== NIL; q = this.parent[q]!) {
      const e = this.entryOf[x]!;
      if (key[e] === k && key2[e] === k2) return;
      key[e] = k;
      key2[e] = k2;
      if (e !== q * FANOUT + this.fill[q]! - 1) return;
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
