/**
 * The ordered index of a region's free blocks: a treap (binary search tree + heap of random priorities)
 * with parent pointers, kept in typed arrays over a caller-provided buffer (plain or shared).
 *
 * Two orders, fixed when the list is built:
 * - BY_ADDRESS (first fit): keyed by address, each node carrying the largest free size of its subtree, so
 *   the lowest (or highest) fitting address is one descent and the largest free block is read at the root;
 * - BY_SIZE (best fit): keyed by (size, address), so the smallest fitting block with its address tie-break
 *   is one descent (two for the highest address among equal sizes).
 *
 * Why it is laid out this way: tree nodes are numbered apart from block slots and kept dense (node ids
 * 0 .. count-1; removing a node moves the last one into its place). A fragmented region has far fewer free
 * blocks than blocks, and their slots are scattered; dense nodes keep every descent inside a small,
 * cache-resident area. Each node is one 64-byte record (a cache line when the buffer is 64-byte aligned,
 * as the allocator lays it out): its address, size and subtree maximum as Float64 words 0-2, its links,
 * priority and slot as Int32 words 6-10, read through a Float64Array and an Int32Array over the same
 * bytes. A descent step then touches one line, not one line in each of six arrays (issue 17).
 * Parent pointers let a changed node fix its ancestors bottom-up and stop as soon as nothing changes,
 * instead of descending from the root again.
 *
 * Block slots are the caller's (FreeList's) numbering; the tree copies each free block's address and size.
 */

/**
 * "No node / no slot". Hot code reads the private NIL instead: V8 keeps an exported binding in a module
 * cell and re-reads and hole-checks it at every use, even in optimised code; a private constant folds.
 */
const NIL = -1;
export const NONE = NIL;

export const TreeOrder = { BY_ADDRESS: 0, BY_SIZE: 1 } as const;
export type TreeOrder = (typeof TreeOrder)[keyof typeof TreeOrder];

// Int32 header
const T_ROOT = 0;
const T_COUNT = 1;
/** xorshift32 state for node priorities: lives in the buffer, so every thread draws from the same sequence. */
const T_RANDOM = 2;
const HEADER_INTS = 4;

// Node record: 8 Float64 words = 16 Int32 words = 64 bytes.
const NODE_DOUBLES = 8;
const NODE_INTS = 16;
const NODE_BYTES = 64;
// Float64 words of a node (index: node * NODE_DOUBLES + word).
const F_KEY = 0;
const F_SIZE = 1;
const F_MAX = 2;
// Int32 words of a node (index: node * NODE_INTS + word), after the three Float64 words.
const I_LEFT = 6;
const I_RIGHT = 7;
const I_PARENT = 8;
const I_PRIORITY = 9;
const I_SLOT = 10;

export class FreeTree {
  /** Bytes of buffer a tree for `capacity` blocks needs (a multiple of 64). */
  static byteLength(capacity: number): number {
    // Node records, then the header and nodeOf, padded so that whatever follows stays 64-byte aligned.
    return NODE_BYTES * capacity + Math.ceil(((HEADER_INTS + capacity) * 4) / NODE_BYTES) * NODE_BYTES;
  }

  private readonly header: Int32Array;
  /** Node records, Float64 words: address, size and (BY_ADDRESS) the largest size in the node's subtree. */
  private readonly f: Float64Array;
  /** The same records, Int32 words: left, right, parent, priority, the block slot the node stands for. */
  private readonly i: Int32Array;
  /** Per block slot: its node, or NIL when the block is not free. */
  private readonly nodeOf: Int32Array;
  private readonly bySize: boolean;
  // Scratch result of merge(): the deepest node whose children changed (one thread inside the lock).
  private mergeBottom = NIL;

  constructor(
    buffer: ArrayBufferLike,
    byteOffset: number,
    readonly capacity: number,
    readonly order: TreeOrder,
  ) {
    this.f = new Float64Array(buffer, byteOffset, capacity * NODE_DOUBLES);
    this.i = new Int32Array(buffer, byteOffset, capacity * NODE_INTS);
    const at = byteOffset + capacity * NODE_BYTES;
    this.header = new Int32Array(buffer, at, HEADER_INTS);
    this.nodeOf = new Int32Array(buffer, at + HEADER_INTS * 4, capacity);
    this.bySize = order === TreeOrder.BY_SIZE;
  }

  /** Empties the tree. Only the creator of the buffer calls this. */
  format(): void {
    this.header[T_ROOT] = NIL;
    this.header[T_COUNT] = 0;
    this.header[T_RANDOM] = 0x2545f491;
    this.nodeOf.fill(NIL);
  }

  /** Free blocks in the tree. */
  get count(): number {
    return this.header[T_COUNT]!;
  }

  /** Size of the largest free block, bytes (0 when there is none). */
  get largestBytes(): number {
    const f = this.f;
    const i = this.i;
    let t = this.header[T_ROOT]!;
    if (t === NIL) return 0;
    if (!this.bySize) return f[t * NODE_DOUBLES + F_MAX]!;
    while (i[t * NODE_INTS + I_RIGHT] !== NIL) t = i[t * NODE_INTS + I_RIGHT]!;
    return f[t * NODE_DOUBLES + F_SIZE]!;
  }

  /** Adds the free block `slot` at `address` of `sizeBytes`. */
  insert(slot: number, address: number, sizeBytes: number): void {
    const h = this.header;
    const x = h[T_COUNT]!;
    h[T_COUNT] = x + 1;
    let r = h[T_RANDOM]!;
    r ^= r << 13;
    r ^= r >>> 17;
    r ^= r << 5;
    h[T_RANDOM] = r;
    const xi = x * NODE_INTS;
    this.i[xi + I_PRIORITY] = r;
    this.i[xi + I_SLOT] = slot;
    this.nodeOf[slot] = x;
    this.f[x * NODE_DOUBLES + F_KEY] = address;
    this.f[x * NODE_DOUBLES + F_SIZE] = sizeBytes;
    this.attach(x);
  }

  /** Removes the free block `slot`. */
  remove(slot: number): void {
    const x = this.nodeOf[slot]!;
    this.detach(x);
    this.nodeOf[slot] = NIL;
    const last = this.header[T_COUNT]! - 1;
    this.header[T_COUNT] = last;
    if (x !== last) this.move(last, x);
  }

  /**
   * The free block `slot` now starts at `address` and spans `sizeBytes`. BY_ADDRESS: the caller
   * guarantees the block did not move past another free block (address order holds).
   */
  resize(slot: number, address: number, sizeBytes: number): void {
    const x = this.nodeOf[slot]!;
    const f = this.f;
    const xf = x * NODE_DOUBLES;
    if (this.bySize) {
      this.detach(x);
      f[xf + F_KEY] = address;
      f[xf + F_SIZE] = sizeBytes;
      this.attach(x);
      return;
    }
    const old = f[xf + F_SIZE]!;
    f[xf + F_KEY] = address;
    f[xf + F_SIZE] = sizeBytes;
    if (sizeBytes > old) {
      // Growing: raise the ancestors' maxima until one already covers the new size.
      const i = this.i;
      for (
        let t = x;
        t !== NIL && f[t * NODE_DOUBLES + F_MAX]! < sizeBytes;
        t = i[t * NODE_INTS + I_PARENT]!
      ) {
        f[t * NODE_DOUBLES + F_MAX] = sizeBytes;
      }
    } else if (sizeBytes < old) {
      this.fixUp(x);
    }
  }

  /** BY_ADDRESS: the lowest-addressed (bottom-up) or highest-addressed free block of at least `n` bytes. */
  findFirst(n: number, bottomUp: boolean): number {
    const f = this.f;
    const i = this.i;
    let t = this.header[T_ROOT]!;
    if (t === NIL || f[t * NODE_DOUBLES + F_MAX]! < n) return NIL;
    const near = bottomUp ? I_LEFT : I_RIGHT;
    const far = bottomUp ? I_RIGHT : I_LEFT;
    for (;;) {
      const ti = t * NODE_INTS;
      const c = i[ti + near]!;
      if (c !== NIL && f[c * NODE_DOUBLES + F_MAX]! >= n) t = c;
      else if (f[t * NODE_DOUBLES + F_SIZE]! >= n) return i[ti + I_SLOT]!;
      else t = i[ti + far]!;
    }
  }

  /**
   * BY_SIZE: the smallest free block of at least `n` bytes; among equal sizes the lowest address
   * (bottom-up) or the highest (top-down).
   */
  findBest(n: number, bottomUp: boolean): number {
    const f = this.f;
    const i = this.i;
    let t = this.header[T_ROOT]!;
    let best = NIL;
    // Lower bound of (n, -inf): the first block in (size, address) order with size >= n.
    while (t !== NIL) {
      if (f[t * NODE_DOUBLES + F_SIZE]! >= n) {
        best = t;
        t = i[t * NODE_INTS + I_LEFT]!;
      } else {
        t = i[t * NODE_INTS + I_RIGHT]!;
      }
    }
    if (best === NIL || bottomUp) return best === NIL ? NIL : i[best * NODE_INTS + I_SLOT]!;
    // Top-down: the last block of that size, i.e. the last key <= (size, +inf).
    const s = f[best * NODE_DOUBLES + F_SIZE]!;
    t = this.header[T_ROOT]!;
    while (t !== NIL) {
      if (f[t * NODE_DOUBLES + F_SIZE]! <= s) {
        best = t;
        t = i[t * NODE_INTS + I_RIGHT]!;
      } else {
        t = i[t * NODE_INTS + I_LEFT]!;
      }
    }
    return i[best * NODE_INTS + I_SLOT]!;
  }

  /** The address and size the tree holds for the free block `slot` (for invariant checks). */
  viewOf(slot: number): { address: number; sizeBytes: number } {
    const x = this.nodeOf[slot]!;
    return { address: this.keyOf(x), sizeBytes: this.sizeOf(x) };
  }

  /** Slots of the free blocks in tree order (for invariant checks). */
  slotsInOrder(): number[] {
    const out: number[] = [];
    const stack: number[] = [];
    let t = this.header[T_ROOT]!;
    while (t !== NIL || stack.length > 0) {
      while (t !== NIL) {
        stack.push(t);
        t = this.leftOf(t);
      }
      t = stack.pop()!;
      out.push(this.i[t * NODE_INTS + I_SLOT]!);
      t = this.rightOf(t);
    }
    return out;
  }

  /** Describes the first broken structural invariant, or returns undefined (for tests). */
  checkInvariants(): string | undefined {
    const count = this.count;
    const root = this.header[T_ROOT]!;
    if ((root === NIL) !== (count === 0)) return `root ${root} with ${count} nodes`;
    if (root !== NIL && this.parentOf(root) !== NIL) return `root ${root} has a parent`;
    let seen = 0;
    const stack = root === NIL ? [] : [root];
    while (stack.length > 0) {
      const t = stack.pop()!;
      seen++;
      if (t < 0 || t >= count) return `node ${t} outside 0..${count - 1}`;
      if (this.nodeOf[this.i[t * NODE_INTS + I_SLOT]!] !== t) return `node ${t}: nodeOf[slot] disagrees`;
      let m = this.sizeOf(t);
      for (const c of [this.leftOf(t), this.rightOf(t)]) {
        if (c === NIL) continue;
        if (this.parentOf(c) !== t) return `node ${c}: parent pointer`;
        if (this.priorityOf(c) > this.priorityOf(t)) return `node ${c}: heap order`;
        if (this.maxOf(c) > m) m = this.maxOf(c);
        stack.push(c);
      }
      if (!this.bySize && this.maxOf(t) !== m) return `node ${t}: subtree maximum ${this.maxOf(t)} != ${m}`;
    }
    if (seen !== count) return `${seen} nodes reachable, ${count} counted`;
    const slots = this.slotsInOrder();
    for (let k = 1; k < slots.length; k++) {
      const a = this.nodeOf[slots[k - 1]!]!;
      const b = this.nodeOf[slots[k]!]!;
      if (!this.less(a, b)) return `nodes ${a}, ${b}: key order`;
    }
    return undefined;
  }

  // ---- field reads for the cold paths ----

  private keyOf(t: number): number {
    return this.f[t * NODE_DOUBLES + F_KEY]!;
  }
  private sizeOf(t: number): number {
    return this.f[t * NODE_DOUBLES + F_SIZE]!;
  }
  private maxOf(t: number): number {
    return this.f[t * NODE_DOUBLES + F_MAX]!;
  }
  private leftOf(t: number): number {
    return this.i[t * NODE_INTS + I_LEFT]!;
  }
  private rightOf(t: number): number {
    return this.i[t * NODE_INTS + I_RIGHT]!;
  }
  private parentOf(t: number): number {
    return this.i[t * NODE_INTS + I_PARENT]!;
  }
  private priorityOf(t: number): number {
    return this.i[t * NODE_INTS + I_PRIORITY]!;
  }

  // ---- structure ----

  private less(a: number, b: number): boolean {
    if (this.bySize && this.sizeOf(a) !== this.sizeOf(b)) return this.sizeOf(a) < this.sizeOf(b);
    return this.keyOf(a) < this.keyOf(b);
  }

  /** Puts node x (key and size set) into the tree: leaf insertion, then rotations up by priority. */
  private attach(x: number): void {
    const f = this.f;
    const i = this.i;
    const xf = x * NODE_DOUBLES;
    const xi = x * NODE_INTS;
    const k = f[xf + F_KEY]!;
    const s = f[xf + F_SIZE]!;
    let p = NIL;
    let goLeft = false;
    let t = this.header[T_ROOT]!;
    if (this.bySize) {
      while (t !== NIL) {
        p = t;
        const tf = t * NODE_DOUBLES;
        const st = f[tf + F_SIZE]!;
        goLeft = s < st || (s === st && k < f[tf + F_KEY]!);
        t = i[t * NODE_INTS + (goLeft ? I_LEFT : I_RIGHT)]!;
      }
    } else {
      // Every node passed gains x in its subtree: raise its maximum on the way down.
      while (t !== NIL) {
        const tf = t * NODE_DOUBLES;
        if (f[tf + F_MAX]! < s) f[tf + F_MAX] = s;
        p = t;
        goLeft = k < f[tf + F_KEY]!;
        t = i[t * NODE_INTS + (goLeft ? I_LEFT : I_RIGHT)]!;
      }
    }
    i[xi + I_LEFT] = NIL;
    i[xi + I_RIGHT] = NIL;
    f[xf + F_MAX] = s;
    i[xi + I_PARENT] = p;
    if (p === NIL) {
      this.header[T_ROOT] = x;
      return;
    }
    i[p * NODE_INTS + (goLeft ? I_LEFT : I_RIGHT)] = x;
    const px = i[xi + I_PRIORITY]!;
    while (p !== NIL && i[p * NODE_INTS + I_PRIORITY]! < px) {
      const pi = p * NODE_INTS;
      const g = i[pi + I_PARENT]!;
      if (i[pi + I_LEFT] === x) {
        const b = i[xi + I_RIGHT]!;
        i[pi + I_LEFT] = b;
        if (b !== NIL) i[b * NODE_INTS + I_PARENT] = p;
        i[xi + I_RIGHT] = p;
      } else {
        const b = i[xi + I_LEFT]!;
        i[pi + I_RIGHT] = b;
        if (b !== NIL) i[b * NODE_INTS + I_PARENT] = p;
        i[xi + I_LEFT] = p;
      }
      i[pi + I_PARENT] = x;
      i[xi + I_PARENT] = g;
      if (g === NIL) this.header[T_ROOT] = x;
      else {
        const gi = g * NODE_INTS;
        if (i[gi + I_LEFT] === p) i[gi + I_LEFT] = x;
        else i[gi + I_RIGHT] = x;
      }
      if (!this.bySize) {
        this.recompute(p);
        this.recompute(x);
      }
      p = g;
    }
  }

  /** Takes node x out of the tree (its id stays allocated). */
  private detach(x: number): void {
    const i = this.i;
    const xi = x * NODE_INTS;
    const l = i[xi + I_LEFT]!;
    const r = i[xi + I_RIGHT]!;
    const p = i[xi + I_PARENT]!;
    let m: number;
    if (l === NIL) m = r;
    else if (r === NIL) m = l;
    else m = this.merge(l, r);
    if (p === NIL) this.header[T_ROOT] = m;
    else {
      const pi = p * NODE_INTS;
      if (i[pi + I_LEFT] === x) i[pi + I_LEFT] = m;
      else i[pi + I_RIGHT] = m;
    }
    if (m !== NIL) i[m * NODE_INTS + I_PARENT] = p;
    if (this.bySize) return;
    if (l !== NIL && r !== NIL) {
      // Every node on the merge path got new children: recompute them all, up to the merged root.
      for (let t = this.mergeBottom; t !== p; t = i[t * NODE_INTS + I_PARENT]!) this.recompute(t);
    }
    if (p !== NIL) this.fixUp(p);
  }

  /**
   * Joins subtrees a and b (every key of a below every key of b) along a's right spine and b's left
   * spine; returns the new root (its parent is the caller's to set) and leaves the deepest changed node
   * in mergeBottom.
   */
  private merge(a: number, b: number): number {
    const i = this.i;
    let root = NIL;
    let top = NIL;
    let hangLeft = false;
    while (a !== NIL && b !== NIL) {
      let pick: number;
      let pickLeft: boolean;
      if (i[a * NODE_INTS + I_PRIORITY]! > i[b * NODE_INTS + I_PRIORITY]!) {
        pick = a;
        a = i[a * NODE_INTS + I_RIGHT]!;
        pickLeft = false;
      } else {
        pick = b;
        b = i[b * NODE_INTS + I_LEFT]!;
        pickLeft = true;
      }
      if (top === NIL) root = pick;
      else {
        i[top * NODE_INTS + (hangLeft ? I_LEFT : I_RIGHT)] = pick;
        i[pick * NODE_INTS + I_PARENT] = top;
      }
      top = pick;
      hangLeft = pickLeft;
    }
    const rest = a !== NIL ? a : b;
    i[top * NODE_INTS + (hangLeft ? I_LEFT : I_RIGHT)] = rest;
    if (rest !== NIL) i[rest * NODE_INTS + I_PARENT] = top;
    this.mergeBottom = top;
    return root;
  }

  /** Moves node `from` (the last one) into the free id `to`. */
  private move(from: number, to: number): void {
    const f = this.f;
    const i = this.i;
    const ff = from * NODE_DOUBLES;
    const tf = to * NODE_DOUBLES;
    const fi = from * NODE_INTS;
    const ti = to * NODE_INTS;
    const l = i[fi + I_LEFT]!;
    const r = i[fi + I_RIGHT]!;
    const p = i[fi + I_PARENT]!;
    const s = i[fi + I_SLOT]!;
    f[tf + F_KEY] = f[ff + F_KEY]!;
    f[tf + F_SIZE] = f[ff + F_SIZE]!;
    f[tf + F_MAX] = f[ff + F_MAX]!;
    i[ti + I_PRIORITY] = i[fi + I_PRIORITY]!;
    i[ti + I_LEFT] = l;
    i[ti + I_RIGHT] = r;
    i[ti + I_PARENT] = p;
    i[ti + I_SLOT] = s;
    this.nodeOf[s] = to;
    if (p === NIL) this.header[T_ROOT] = to;
    else {
      const pi = p * NODE_INTS;
      if (i[pi + I_LEFT] === from) i[pi + I_LEFT] = to;
      else i[pi + I_RIGHT] = to;
    }
    if (l !== NIL) i[l * NODE_INTS + I_PARENT] = to;
    if (r !== NIL) i[r * NODE_INTS + I_PARENT] = to;
  }

  /** Recomputes maxima from t upwards while they change (BY_ADDRESS). */
  private fixUp(t: number): void {
    while (t !== NIL && this.recompute(t)) t = this.i[t * NODE_INTS + I_PARENT]!;
  }

  /** Recomputes t's subtree maximum from its children; returns whether it changed. */
  private recompute(t: number): boolean {
    const f = this.f;
    const i = this.i;
    const tf = t * NODE_DOUBLES;
    const ti = t * NODE_INTS;
    let m = f[tf + F_SIZE]!;
    const l = i[ti + I_LEFT]!;
    const r = i[ti + I_RIGHT]!;
    if (l !== NIL) {
      const ml = f[l * NODE_DOUBLES + F_MAX]!;
      if (ml > m) m = ml;
    }
    if (r !== NIL) {
      const mr = f[r * NODE_DOUBLES + F_MAX]!;
      if (mr > m) m = mr;
    }
    if (f[tf + F_MAX] === m) return false;
    f[tf + F_MAX] = m;
    return true;
  }
}
