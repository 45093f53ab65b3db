/**
 * Reference model: the free list and treap of src/device/allocator as of issue 17, frozen. A faster
 * index in src/ (issue 17 item 4: a segregated size-class index, a different node layout) must place
 * every block exactly where this one does; test/device/allocator-reference.test.ts runs both side by side.
 */
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
 * blocks than blocks, and their slots are scattered; dense nodes keep every descent inside a few small,
 * cache-resident arrays. Parent pointers let a changed node fix its ancestors bottom-up and stop as soon
 * as nothing changes, instead of descending from the root again.
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

export class FreeTree {
  /** Bytes of buffer a tree for `capacity` blocks needs (a multiple of 8). */
  static byteLength(capacity: number): number {
    // 3 Float64 arrays, then the header and 6 Int32 arrays: 16 + 48 x capacity bytes, a multiple of 8.
    return 3 * 8 * capacity + (HEADER_INTS + 6 * capacity) * 4;
  }

  private readonly header: Int32Array;
  /** Per node: the free block's address, size and (BY_ADDRESS) the largest size in the node's subtree. */
  private readonly key: Float64Array;
  private readonly size: Float64Array;
  private readonly maxSize: Float64Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly parent: Int32Array;
  private readonly priority: Int32Array;
  /** Per node: the block slot it stands for. */
  private readonly slot: Int32Array;
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
    let at = byteOffset;
    const doubles = (): Float64Array => {
      const view = new Float64Array(buffer, at, capacity);
      at += capacity * 8;
      return view;
    };
    const ints = (count: number): Int32Array => {
      const view = new Int32Array(buffer, at, count);
      at += count * 4;
      return view;
    };
    this.key = doubles();
    this.size = doubles();
    this.maxSize = doubles();
    this.header = ints(HEADER_INTS);
    this.left = ints(capacity);
    this.right = ints(capacity);
    this.parent = ints(capacity);
    this.priority = ints(capacity);
    this.slot = ints(capacity);
    this.nodeOf = ints(capacity);
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
    let t = this.header[T_ROOT]!;
    if (t === NIL) return 0;
    if (!this.bySize) return this.maxSize[t]!;
    while (this.right[t] !== NIL) t = this.right[t]!;
    return this.size[t]!;
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
    this.priority[x] = r;
    this.slot[x] = slot;
    this.nodeOf[slot] = x;
    this.key[x] = address;
    this.size[x] = sizeBytes;
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
    if (this.bySize) {
      this.detach(x);
      this.key[x] = address;
      this.size[x] = sizeBytes;
      this.attach(x);
      return;
    }
    const old = this.size[x]!;
    this.key[x] = address;
    this.size[x] = sizeBytes;
    const maxSize = this.maxSize;
    if (sizeBytes > old) {
      // Growing: raise the ancestors' maxima until one already covers the new size.
      for (let t = x; t !== NIL && maxSize[t]! < sizeBytes; t = this.parent[t]!) maxSize[t] = sizeBytes;
    } else if (sizeBytes < old) {
      this.fixUp(x);
    }
  }

  /** BY_ADDRESS: the lowest-addressed (bottom-up) or highest-addressed free block of at least `n` bytes. */
  findFirst(n: number, bottomUp: boolean): number {
    let t = this.header[T_ROOT]!;
    const maxSize = this.maxSize;
    if (t === NIL || maxSize[t]! < n) return NIL;
    const near = bottomUp ? this.left : this.right;
    const far = bottomUp ? this.right : this.left;
    for (;;) {
      const c = near[t]!;
      if (c !== NIL && maxSize[c]! >= n) t = c;
      else if (this.size[t]! >= n) return this.slot[t]!;
      else t = far[t]!;
    }
  }

  /**
   * BY_SIZE: the smallest free block of at least `n` bytes; among equal sizes the lowest address
   * (bottom-up) or the highest (top-down).
   */
  findBest(n: number, bottomUp: boolean): number {
    const size = this.size;
    let t = this.header[T_ROOT]!;
    let best = NIL;
    // Lower bound of (n, -inf): the first block in (size, address) order with size >= n.
    while (t !== NIL) {
      if (size[t]! >= n) {
        best = t;
        t = this.left[t]!;
      } else {
        t = this.right[t]!;
      }
    }
    if (best === NIL || bottomUp) return best === NIL ? NIL : this.slot[best]!;
    // Top-down: the last block of that size, i.e. the last key <= (size, +inf).
    const s = size[best]!;
    t = this.header[T_ROOT]!;
    while (t !== NIL) {
      if (size[t]! <= s) {
        best = t;
        t = this.right[t]!;
      } else {
        t = this.left[t]!;
      }
    }
    return this.slot[best]!;
  }

  /** The address and size the tree holds for the free block `slot` (for invariant checks). */
  viewOf(slot: number): { address: number; sizeBytes: number } {
    const x = this.nodeOf[slot]!;
    return { address: this.key[x]!, sizeBytes: this.size[x]! };
  }

  /** Slots of the free blocks in tree order (for invariant checks). */
  slotsInOrder(): number[] {
    const out: number[] = [];
    const stack: number[] = [];
    let t = this.header[T_ROOT]!;
    while (t !== NIL || stack.length > 0) {
      while (t !== NIL) {
        stack.push(t);
        t = this.left[t]!;
      }
      t = stack.pop()!;
      out.push(this.slot[t]!);
      t = this.right[t]!;
    }
    return out;
  }

  /** Describes the first broken structural invariant, or returns undefined (for tests). */
  checkInvariants(): string | undefined {
    const count = this.count;
    const root = this.header[T_ROOT]!;
    if ((root === NIL) !== (count === 0)) return `root ${root} with ${count} nodes`;
    if (root !== NIL && this.parent[root] !== NIL) return `root ${root} has a parent`;
    let seen = 0;
    const stack = root === NIL ? [] : [root];
    while (stack.length > 0) {
      const t = stack.pop()!;
      seen++;
      if (t < 0 || t >= count) return `node ${t} outside 0..${count - 1}`;
      if (this.nodeOf[this.slot[t]!] !== t) return `node ${t}: nodeOf[slot] disagrees`;
      let m = this.size[t]!;
      for (const c of [this.left[t]!, this.right[t]!]) {
        if (c === NIL) continue;
        if (this.parent[c] !== t) return `node ${c}: parent pointer`;
        if (this.priority[c]! > this.priority[t]!) return `node ${c}: heap order`;
        if (this.maxSize[c]! > m) m = this.maxSize[c]!;
        stack.push(c);
      }
      if (!this.bySize && this.maxSize[t] !== m)
        return `node ${t}: subtree maximum ${this.maxSize[t]} != ${m}`;
    }
    if (seen !== count) return `${seen} nodes reachable, ${count} counted`;
    const slots = this.slotsInOrder();
    for (let i = 1; i < slots.length; i++) {
      const a = this.nodeOf[slots[i - 1]!]!;
      const b = this.nodeOf[slots[i]!]!;
      if (!this.less(a, b)) return `nodes ${a}, ${b}: key order`;
    }
    return undefined;
  }

  // ---- structure ----

  private less(a: number, b: number): boolean {
    if (this.bySize && this.size[a] !== this.size[b]) return this.size[a]! < this.size[b]!;
    return this.key[a]! < this.key[b]!;
  }

  /** Puts node x (key and size set) into the tree: leaf insertion, then rotations up by priority. */
  private attach(x: number): void {
    const key = this.key;
    const size = this.size;
    const maxSize = this.maxSize;
    const left = this.left;
    const right = this.right;
    const parent = this.parent;
    const k = key[x]!;
    const s = size[x]!;
    let p = NIL;
    let goLeft = false;
    let t = this.header[T_ROOT]!;
    if (this.bySize) {
      while (t !== NIL) {
        p = t;
        const st = size[t]!;
        goLeft = s < st || (s === st && k < key[t]!);
        t = goLeft ? left[t]! : right[t]!;
      }
    } else {
      // Every node passed gains x in its subtree: raise its maximum on the way down.
      while (t !== NIL) {
        if (maxSize[t]! < s) maxSize[t] = s;
        p = t;
        goLeft = k < key[t]!;
        t = goLeft ? left[t]! : right[t]!;
      }
    }
    left[x] = NIL;
    right[x] = NIL;
    maxSize[x] = s;
    parent[x] = p;
    if (p === NIL) {
      this.header[T_ROOT] = x;
      return;
    }
    if (goLeft) left[p] = x;
    else right[p] = x;
    const priority = this.priority;
    const px = priority[x]!;
    while (p !== NIL && priority[p]! < px) {
      const g = parent[p]!;
      if (left[p] === x) {
        const b = right[x]!;
        left[p] = b;
        if (b !== NIL) parent[b] = p;
        right[x] = p;
      } else {
        const b = left[x]!;
        right[p] = b;
        if (b !== NIL) parent[b] = p;
        left[x] = p;
      }
      parent[p] = x;
      parent[x] = g;
      if (g === NIL) this.header[T_ROOT] = x;
      else if (left[g] === p) left[g] = x;
      else right[g] = x;
      if (!this.bySize) {
        this.recompute(p);
        this.recompute(x);
      }
      p = g;
    }
  }

  /** Takes node x out of the tree (its id stays allocated). */
  private detach(x: number): void {
    const l = this.left[x]!;
    const r = this.right[x]!;
    const p = this.parent[x]!;
    let m: number;
    if (l === NIL) m = r;
    else if (r === NIL) m = l;
    else m = this.merge(l, r);
    if (p === NIL) this.header[T_ROOT] = m;
    else if (this.left[p] === x) this.left[p] = m;
    else this.right[p] = m;
    if (m !== NIL) this.parent[m] = p;
    if (this.bySize) return;
    if (l !== NIL && r !== NIL) {
      // Every node on the merge path got new children: recompute them all, up to the merged root.
      for (let t = this.mergeBottom; t !== p; t = this.parent[t]!) this.recompute(t);
    }
    if (p !== NIL) this.fixUp(p);
  }

  /**
   * Joins subtrees a and b (every key of a below every key of b) along a's right spine and b's left
   * spine; returns the new root (its parent is the caller's to set) and leaves the deepest changed node
   * in mergeBottom.
   */
  private merge(a: number, b: number): number {
    const left = this.left;
    const right = this.right;
    const parent = this.parent;
    const priority = this.priority;
    let root = NIL;
    let top = NIL;
    let hangLeft = false;
    while (a !== NIL && b !== NIL) {
      let pick: number;
      let pickLeft: boolean;
      if (priority[a]! > priority[b]!) {
        pick = a;
        a = right[a]!;
        pickLeft = false;
      } else {
        pick = b;
        b = left[b]!;
        pickLeft = true;
      }
      if (top === NIL) root = pick;
      else {
        if (hangLeft) left[top] = pick;
        else right[top] = pick;
        parent[pick] = top;
      }
      top = pick;
      hangLeft = pickLeft;
    }
    const rest = a !== NIL ? a : b;
    if (hangLeft) left[top] = rest;
    else right[top] = rest;
    if (rest !== NIL) parent[rest] = top;
    this.mergeBottom = top;
    return root;
  }

  /** Moves node `from` (the last one) into the free id `to`. */
  private move(from: number, to: number): void {
    const l = this.left[from]!;
    const r = this.right[from]!;
    const p = this.parent[from]!;
    const s = this.slot[from]!;
    this.key[to] = this.key[from]!;
    this.size[to] = this.size[from]!;
    this.maxSize[to] = this.maxSize[from]!;
    this.priority[to] = this.priority[from]!;
    this.left[to] = l;
    this.right[to] = r;
    this.parent[to] = p;
    this.slot[to] = s;
    this.nodeOf[s] = to;
    if (p === NIL) this.header[T_ROOT] = to;
    else if (this.left[p] === from) this.left[p] = to;
    else this.right[p] = to;
    if (l !== NIL) this.parent[l] = to;
    if (r !== NIL) this.parent[r] = to;
  }

  /** Recomputes maxima from t upwards while they change (BY_ADDRESS). */
  private fixUp(t: number): void {
    while (t !== NIL && this.recompute(t)) t = this.parent[t]!;
  }

  /** Recomputes t's subtree maximum from its children; returns whether it changed. */
  private recompute(t: number): boolean {
    const maxSize = this.maxSize;
    let m = this.size[t]!;
    const l = this.left[t]!;
    const r = this.right[t]!;
    if (l !== NIL && maxSize[l]! > m) m = maxSize[l]!;
    if (r !== NIL && maxSize[r]! > m) m = maxSize[r]!;
    if (maxSize[t] === m) return false;
    maxSize[t] = m;
    return true;
  }
}
