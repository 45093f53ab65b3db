/**
 * The bank extents of registry slots in one region, in alignment units, kept from one memory map to the
 * next: a slot's extent is computed again only when the slot has taken a new allocation since
 * (`SlotColumns.generation`). So a map of a million live allocations pays the arithmetic only for those
 * that changed since the last map of that region; the rest is a sequential read of three columns.
 * 12 bytes per registry slot; grown with the registry, never shrunk.
 */
export const EXTENT_OUTSIDE = -1;
export const EXTENT_UNALIGNED = -2;

export class BankExtentCache {
  /** Generation each entry was computed for; 0 = never (a used slot's generation is ≥ 1). */
  generation = new Uint32Array(0);
  /** First unit, or EXTENT_OUTSIDE (nothing inside the region) / EXTENT_UNALIGNED (not on a unit). */
  fromUnit = new Int32Array(0);
  /** One past the last unit. */
  toUnit = new Int32Array(0);

  /** Room for `slots` entries, keeping those computed. */
  reserve(slots: number): void {
    if (slots <= this.generation.length) return;
    let size = Math.max(1024, this.generation.length);
    while (size < slots) size *= 2;
    const generation = new Uint32Array(size);
    generation.set(this.generation);
    const fromUnit = new Int32Array(size);
    fromUnit.set(this.fromUnit);
    const toUnit = new Int32Array(size);
    toUnit.set(this.toUnit);
    this.generation = generation;
    this.fromUnit = fromUnit;
    this.toUnit = toUnit;
  }
}

/**
 * Caches per region, the most recently used first; at most `limit` (each one 12 bytes per registry
 * slot: at 1M slots, 12 MB).
 */
export class BankExtentCaches<Region extends object> {
  private readonly caches: { region: Region; cache: BankExtentCache }[] = [];

  constructor(private readonly limit: number) {}

  of(region: Region): BankExtentCache {
    const at = this.caches.findIndex((c) => c.region === region);
    if (at >= 0) {
      const [entry] = this.caches.splice(at, 1);
      this.caches.unshift(entry);
      return entry.cache;
    }
    const cache = new BankExtentCache();
    this.caches.unshift({ region, cache });
    if (this.caches.length > this.limit) this.caches.pop();
    return cache;
  }
}
