/**
 * The occupied extents of one map request as columns of typed arrays, reused from request to request
 * (grown to the largest request, never shrunk: 60 bytes per extent), sorted by start.
 *
 * Why a radix sort: at a million extents a comparison sort in JS takes well over the 20 ms a map may
 * cost (docs/PERFORMANCE.md `memory_map_ms`). Keys are region offsets in alignment units (below 2^27 on
 * every preset), so two stable counting passes of at most 16 bits order them; each pass carries the
 * columns the map's walks read (start, end, owner), so that those walks read memory in order. A last
 * insertion pass orders the rare extents whose offsets are not aligned (exact starts), in near-linear time.
 */

const MAX_DIGIT_BITS = 16;
const INITIAL_CAPACITY = 1024;

/** The columns one radix pass reads (or writes). */
class Columns {
  readonly key: Uint32Array;
  /** Index of the extent in the order `add` saw them (for `slot`). */
  readonly index: Int32Array;
  /** Start and end (exclusive) as offsets into the region, bytes (outside it for a client's bad address). */
  readonly start: Float64Array;
  readonly end: Float64Array;
  /** Index of the extent's ledger in the request's owner list. */
  readonly owner: Int32Array;
  constructor(capacity: number) {
    this.key = new Uint32Array(capacity);
    this.index = new Int32Array(capacity);
    this.start = new Float64Array(capacity);
    this.end = new Float64Array(capacity);
    this.owner = new Int32Array(capacity);
  }
}

export class ExtentTable {
  /** Extents gathered so far. */
  count = 0;
  /** Registry slot of each extent, in the order `add` saw them. */
  slot = new Int32Array(INITIAL_CAPACITY);
  /** After `sortByStart`: the extents' columns in address order (the first `count` entries). */
  sorted = new Columns(INITIAL_CAPACITY);
  private spare = new Columns(INITIAL_CAPACITY);
  private readonly counts = new Int32Array(1 << MAX_DIGIT_BITS);
  private unitBytes = 1;
  private maxKey = 0;

  /** Empties the table and makes room for `capacity` extents of a region of `regionBytes` aligned to `unitBytes`. */
  reset(capacity: number, unitBytes: number, regionBytes: number): void {
    this.count = 0;
    this.unitBytes = unitBytes;
    this.maxKey = Math.floor(regionBytes / unitBytes);
    if (capacity <= this.slot.length) return;
    let size = this.slot.length;
    while (size < capacity) size *= 2;
    this.slot = new Int32Array(size);
    this.sorted = new Columns(size);
    this.spare = new Columns(size);
  }

  /** Appends an extent; `reset` must have made room. */
  add(slot: number, owner: number, start: number, end: number): void {
    const i = this.count++;
    const c = this.sorted;
    this.slot[i] = slot;
    // Starts outside the region take the nearest key; the insertion pass orders them by their start.
    const key = Math.floor(start / this.unitBytes);
    c.key[i] = Math.min(Math.max(key, 0), this.maxKey);
    c.index[i] = i;
    c.start[i] = start;
    c.end[i] = end;
    c.owner[i] = owner;
  }

  /** Sorts the extents by start (ties in the order they were added). */
  sortByStart(): void {
    const maxKey = this.maxKey;
    if (maxKey > 0xffffffff) {
      this.comparisonSort();
      return;
    }
    const bits = Math.max(1, Math.ceil(Math.log2(maxKey + 1)));
    const passes = Math.ceil(bits / MAX_DIGIT_BITS);
    const digitBits = Math.ceil(bits / passes);
    for (let pass = 0; pass < passes; pass++) {
      this.radixPass(pass * digitBits, (1 << digitBits) - 1);
      const done = this.spare;
      this.spare = this.sorted;
      this.sorted = done;
    }
    if (!this.insertionFix()) this.comparisonSort();
  }

  /** One stable counting pass from `sorted` into `spare` on the digit (key >>> shift) & mask. */
  private radixPass(shift: number, mask: number): void {
    const n = this.count;
    const counts = this.counts;
    const from = this.sorted;
    const to = this.spare;
    const key = from.key;
    counts.fill(0, 0, mask + 1);
    for (let i = 0; i < n; i++) counts[(key[i] >>> shift) & mask]++;
    let sum = 0;
    for (let d = 0; d <= mask; d++) {
      const c = counts[d];
      counts[d] = sum;
      sum += c;
    }
    const { index, start, end, owner } = from;
    const toKey = to.key;
    const toIndex = to.index;
    const toStart = to.start;
    const toEnd = to.end;
    const toOwner = to.owner;
    for (let i = 0; i < n; i++) {
      const k = key[i];
      const at = counts[(k >>> shift) & mask]++;
      toKey[at] = k;
      toIndex[at] = index[i];
      toStart[at] = start[i];
      toEnd[at] = end[i];
      toOwner[at] = owner[i];
    }
  }

  /**
   * Orders extents that share a key by their exact starts (a no-op when all are aligned and inside the
   * region). false when that takes more than a few moves per extent (many addresses outside the region
   * or off the alignment, from a faulty client): the caller then sorts by comparison instead.
   */
  private insertionFix(): boolean {
    const { key, index, start, end, owner } = this.sorted;
    let budget = 4 * this.count + 64;
    for (let i = 1; i < this.count; i++) {
      const s = start[i];
      if (start[i - 1] <= s) continue;
      const [k, x, e, o] = [key[i], index[i], end[i], owner[i]];
      let j = i - 1;
      while (j >= 0 && start[j] > s && budget-- > 0) {
        key[j + 1] = key[j];
        index[j + 1] = index[j];
        start[j + 1] = start[j];
        end[j + 1] = end[j];
        owner[j + 1] = owner[j];
        j--;
      }
      key[j + 1] = k;
      index[j + 1] = x;
      start[j + 1] = s;
      end[j + 1] = e;
      owner[j + 1] = o;
      if (budget <= 0) return false;
    }
    return true;
  }

  /** For regions past 2^32 alignment units (no preset has one), or when insertionFix gives up. */
  private comparisonSort(): void {
    const n = this.count;
    const from = this.sorted;
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => from.start[a] - from.start[b] || a - b);
    const to = this.spare;
    for (let i = 0; i < n; i++) {
      const e = order[i];
      to.key[i] = from.key[e];
      to.index[i] = from.index[e];
      to.start[i] = from.start[e];
      to.end[i] = from.end[e];
      to.owner[i] = from.owner[e];
    }
    this.spare = from;
    this.sorted = to;
  }
}
