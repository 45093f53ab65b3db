/**
 * The occupied extents of one map request as columns of typed arrays, reused from request to request
 * (grown to the largest request, never shrunk: 42 bytes per extent), and their address order.
 *
 * Why a radix sort: at a million extents a comparison sort in JS takes well over the 20 ms a map may
 * cost (docs/PERFORMANCE.md `memory_map_ms`). Keys are region offsets in alignment units (below 2^27 on
 * every preset), so two stable counting passes of at most 16 bits order them; a last insertion pass
 * orders the rare extents whose offsets are not aligned (exact float starts), in near-linear time.
 */

const MAX_DIGIT_BITS = 16;
const INITIAL_CAPACITY = 1024;

export class ExtentTable {
  /** Extents gathered so far. */
  count = 0;
  /** Registry slot of each extent. */
  slot = new Int32Array(INITIAL_CAPACITY);
  /** Index of the extent's ledger in the request's owner list. */
  owner = new Int32Array(INITIAL_CAPACITY);
  /** Start and end (exclusive) as offsets into the region, clipped to it; bytes. */
  start = new Float64Array(INITIAL_CAPACITY);
  end = new Float64Array(INITIAL_CAPACITY);
  /** Per-bank bytes before clipping. */
  bankBytes = new Float64Array(INITIAL_CAPACITY);
  /** Extent indexes in address order, after `sortByStart` (the first `count`). */
  order = new Int32Array(INITIAL_CAPACITY);
  private keys = new Uint32Array(INITIAL_CAPACITY);
  private keysSwap = new Uint32Array(INITIAL_CAPACITY);
  private orderSwap = new Int32Array(INITIAL_CAPACITY);
  private counts = new Int32Array(1 << MAX_DIGIT_BITS);

  /** Empties the table and makes room for `capacity` extents. */
  reset(capacity: number): void {
    this.count = 0;
    if (capacity <= this.slot.length) return;
    let size = this.slot.length;
    while (size < capacity) size *= 2;
    this.slot = new Int32Array(size);
    this.owner = new Int32Array(size);
    this.start = new Float64Array(size);
    this.end = new Float64Array(size);
    this.bankBytes = new Float64Array(size);
    this.order = new Int32Array(size);
    this.keys = new Uint32Array(size);
    this.keysSwap = new Uint32Array(size);
    this.orderSwap = new Int32Array(size);
  }

  /** Appends an extent; `reset` must have made room. */
  add(slot: number, owner: number, start: number, end: number, bankBytes: number): void {
    const i = this.count++;
    this.slot[i] = slot;
    this.owner[i] = owner;
    this.start[i] = start;
    this.end[i] = end;
    this.bankBytes[i] = bankBytes;
  }

  /**
   * Fills `order` with the extents by start (ties in the order they were added). `unitBytes`: the
   * region's alignment; `regionBytes`: its size (starts lie in [0, regionBytes]).
   */
  sortByStart(unitBytes: number, regionBytes: number): void {
    const n = this.count;
    const maxKey = Math.floor(regionBytes / unitBytes);
    if (maxKey > 0xffffffff) {
      this.comparisonSort();
      return;
    }
    const bits = Math.max(1, Math.ceil(Math.log2(maxKey + 1)));
    const passes = Math.ceil(bits / MAX_DIGIT_BITS);
    const digitBits = Math.ceil(bits / passes);
    const mask = (1 << digitBits) - 1;
    let keys = this.keys;
    let order = this.order;
    let keysOut = this.keysSwap;
    let orderOut = this.orderSwap;
    const start = this.start;
    for (let i = 0; i < n; i++) {
      keys[i] = Math.floor(start[i] / unitBytes);
      order[i] = i;
    }
    const counts = this.counts;
    for (let pass = 0; pass < passes; pass++) {
      const shift = pass * digitBits;
      counts.fill(0, 0, mask + 1);
      for (let i = 0; i < n; i++) counts[(keys[i] >>> shift) & mask]++;
      let sum = 0;
      for (let d = 0; d <= mask; d++) {
        const c = counts[d];
        counts[d] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) {
        const key = keys[i];
        const at = counts[(key >>> shift) & mask]++;
        keysOut[at] = key;
        orderOut[at] = order[i];
      }
      [keys, keysOut] = [keysOut, keys];
      [order, orderOut] = [orderOut, order];
    }
    this.keys = keys;
    this.keysSwap = keysOut;
    this.order = order;
    this.orderSwap = orderOut;
    this.insertionFix();
  }

  /** Orders extents that share an alignment unit by their exact starts (a no-op when all are aligned). */
  private insertionFix(): void {
    const order = this.order;
    const start = this.start;
    for (let i = 1; i < this.count; i++) {
      const e = order[i];
      const s = start[e];
      let j = i - 1;
      if (start[order[j]] <= s) continue;
      while (j >= 0 && start[order[j]] > s) {
        order[j + 1] = order[j];
        j--;
      }
      order[j + 1] = e;
    }
  }

  /** For regions past 2^32 alignment units (no preset has one). */
  private comparisonSort(): void {
    const n = this.count;
    const indexes = Array.from({ length: n }, (_, i) => i);
    indexes.sort((a, b) => this.start[a] - this.start[b] || a - b);
    for (let i = 0; i < n; i++) this.order[i] = indexes[i];
  }
}
