import type { LiveAllocation } from "../protocol/event.js";

/**
 * The allocations of one snapshot in progress (SNAPSHOT_BEGIN, then its chunks), held until
 * SNAPSHOT_END in growable parallel arrays bounded by the total SNAPSHOT_BEGIN announced: a snapshot
 * is swapped in whole or not at all, and a sender cannot make the server hold more than it announced.
 */
export class SnapshotCollector {
  ids = new Float64Array(0);
  types = new Uint8Array(0);
  addresses = new Float64Array(0);
  sizes = new Float64Array(0);
  /** Context ids (0 = none). */
  contexts = new Uint32Array(0);
  /** Allocations received so far. */
  count = 0;

  constructor(
    /** Connection sending the snapshot. */
    readonly source: number,
    /** Seq the snapshot's state is exact as of. */
    readonly watermarkSeq: number,
    /** Allocations SNAPSHOT_BEGIN announced. */
    readonly totalAllocations: number,
  ) {}

  /** True when exactly the announced allocations have arrived. */
  get complete(): boolean {
    return this.count === this.totalAllocations;
  }

  /** Adds a chunk; false (and nothing added) when it would exceed the announced total. */
  add(allocations: readonly LiveAllocation[]): boolean {
    const needed = this.count + allocations.length;
    if (needed > this.totalAllocations) return false;
    if (needed > this.ids.length)
      this.grow(Math.min(this.totalAllocations, Math.max(needed, this.ids.length * 2, 256)));
    for (const a of allocations) {
      const i = this.count++;
      this.ids[i] = a.allocationId;
      this.types[i] = a.memoryType;
      this.addresses[i] = a.address;
      this.sizes[i] = a.sizeBytes;
      this.contexts[i] = a.contextId ?? 0;
    }
    return true;
  }

  private grow(capacity: number): void {
    const ids = new Float64Array(capacity);
    ids.set(this.ids.subarray(0, this.count));
    this.ids = ids;
    const types = new Uint8Array(capacity);
    types.set(this.types.subarray(0, this.count));
    this.types = types;
    const addresses = new Float64Array(capacity);
    addresses.set(this.addresses.subarray(0, this.count));
    this.addresses = addresses;
    const sizes = new Float64Array(capacity);
    sizes.set(this.sizes.subarray(0, this.count));
    this.sizes = sizes;
    const contexts = new Uint32Array(capacity);
    contexts.set(this.contexts.subarray(0, this.count));
    this.contexts = contexts;
  }
}
