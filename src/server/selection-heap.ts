/**
 * Top-N selection for the "largest" / "oldest" / "lowest address" lists: keeps the `limit` entries with
 * the smallest (key, tie) among everything offered, in O(n log limit) time and O(limit) memory, so that
 * listing 100 of a million live allocations neither sorts nor copies the million.
 *
 * A max-heap whose root is the worst kept entry; each entry carries two integers for the caller (the
 * registry slot and the index of its ledger) in parallel typed arrays, so an offer allocates nothing.
 */
export class SelectionHeap {
  readonly keys: Float64Array;
  readonly ties: Float64Array;
  /** Caller's first payload per heap position (a registry slot). */
  readonly slots: Int32Array;
  /** Caller's second payload per heap position (an index into the caller's list of ledgers). */
  readonly owners: Int32Array;
  private count = 0;

  constructor(private readonly limit: number) {
    this.keys = new Float64Array(limit);
    this.ties = new Float64Array(limit);
    this.slots = new Int32Array(limit);
    this.owners = new Int32Array(limit);
  }

  /** Entries kept: min(limit, entries offered). */
  get size(): number {
    return this.count;
  }

  offer(key: number, tie: number, slot: number, owner: number): void {
    if (this.count < this.limit) {
      let i = this.count++;
      this.put(i, key, tie, slot, owner);
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.worse(i, parent)) break;
        this.swap(i, parent);
        i = parent;
      }
      return;
    }
    // Not better than the worst kept: skip.
    if (key > this.keys[0] || (key === this.keys[0] && tie >= this.ties[0])) return;
    this.put(0, key, tie, slot, owner);
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let worst = i;
      if (left < this.count && this.worse(left, worst)) worst = left;
      if (right < this.count && this.worse(right, worst)) worst = right;
      if (worst === i) break;
      this.swap(i, worst);
      i = worst;
    }
  }

  /** Heap positions in ascending (key, tie) order. */
  sorted(): number[] {
    const order = Array.from({ length: this.count }, (_, i) => i);
    order.sort((a, b) => this.keys[a] - this.keys[b] || this.ties[a] - this.ties[b]);
    return order;
  }

  private worse(a: number, b: number): boolean {
    return this.keys[a] > this.keys[b] || (this.keys[a] === this.keys[b] && this.ties[a] > this.ties[b]);
  }

  private put(i: number, key: number, tie: number, slot: number, owner: number): void {
    this.keys[i] = key;
    this.ties[i] = tie;
    this.slots[i] = slot;
    this.owners[i] = owner;
  }

  private swap(a: number, b: number): void {
    const key = this.keys[a];
    const tie = this.ties[a];
    const slot = this.slots[a];
    const owner = this.owners[a];
    this.put(a, this.keys[b], this.ties[b], this.slots[b], this.owners[b]);
    this.put(b, key, tie, slot, owner);
  }
}
