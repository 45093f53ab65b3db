import type { LiveAllocation } from "../protocol/event.js";

/** Bytes a held snapshot entry takes: id, address and size (float64), type (uint8), context (uint32). */
export const SNAPSHOT_ENTRY_BYTES = 29;

/**
 * The snapshot entries every snapshot in progress may hold together, server-wide (by default as many as
 * the registry's live-allocation limit: ~232 MiB at 29 bytes each), so that many sessions sending large
 * snapshots at once, or never ending them, hold a bounded amount. What a collector cannot hold is counted
 * and left out: the snapshot is swapped in short and its (session, device) stays marked over the limit.
 */
export class SnapshotIntakeBudget {
  private held = 0;

  /** `limitEntries`: most entries held at once (Infinity: no limit, for tests of one sequencer). */
  constructor(readonly limitEntries: number) {}

  /** Entries held now by every collector. */
  get heldEntries(): number {
    return this.held;
  }

  /** Takes up to `wanted` entries; returns how many it could. */
  take(wanted: number): number {
    const granted = Math.max(0, Math.min(wanted, this.limitEntries - this.held));
    this.held += granted;
    return granted;
  }

  give(entries: number): void {
    this.held -= entries;
  }
}

/**
 * The allocations of one snapshot in progress (SNAPSHOT_BEGIN, then its chunks), held until
 * SNAPSHOT_END in growable parallel arrays bounded by the total SNAPSHOT_BEGIN announced, by `keepLimit`
 * (the per-session live-allocation limit: more could never be stored) and by the server-wide
 * SnapshotIntakeBudget. Entries past those are counted (`count`) but not kept (`stored`): the snapshot
 * is swapped in with what was kept and the rest counted as refused (docs/DESIGN.md "Live-allocation
 * limits"). Give the entries back with `release` when the snapshot is done with, applied or not.
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
  /** Allocations kept so far (the first `stored` of each column). */
  stored = 0;

  constructor(
    /** Connection sending the snapshot. */
    readonly source: number,
    /** Seq the snapshot's state is exact as of. */
    readonly watermarkSeq: number,
    /** Allocations SNAPSHOT_BEGIN announced. */
    readonly totalAllocations: number,
    private readonly keepLimit: number = Number.POSITIVE_INFINITY,
    private readonly budget?: SnapshotIntakeBudget,
  ) {}

  /** True when exactly the announced allocations have arrived. */
  get complete(): boolean {
    return this.count === this.totalAllocations;
  }

  /** Allocations received but not kept (no room). */
  get unstored(): number {
    return this.count - this.stored;
  }

  /** Adds a chunk; false (and nothing added) when it would exceed the announced total. */
  add(allocations: readonly LiveAllocation[]): boolean {
    const needed = this.count + allocations.length;
    if (needed > this.totalAllocations) return false;
    const wanted = Math.min(this.stored + allocations.length, this.keepLimit);
    if (wanted > this.ids.length) {
      const most = Math.min(this.totalAllocations, this.keepLimit);
      this.grow(Math.min(most, Math.max(wanted, this.ids.length * 2, 256)));
    }
    const room = this.ids.length;
    for (const a of allocations) {
      this.count++;
      if (this.stored === room) continue;
      const i = this.stored++;
      this.ids[i] = a.allocationId;
      this.types[i] = a.memoryType;
      this.addresses[i] = a.address;
      this.sizes[i] = a.sizeBytes;
      this.contexts[i] = a.contextId ?? 0;
    }
    return true;
  }

  /** Gives the held entries back to the budget. Idempotent; the collector holds nothing afterwards. */
  release(): void {
    this.budget?.give(this.ids.length);
    this.ids = new Float64Array(0);
    this.types = new Uint8Array(0);
    this.addresses = new Float64Array(0);
    this.sizes = new Float64Array(0);
    this.contexts = new Uint32Array(0);
  }

  private grow(target: number): void {
    const extra = target - this.ids.length;
    const granted = this.budget === undefined ? extra : this.budget.take(extra);
    if (granted <= 0) return;
    const capacity = this.ids.length + granted;
    const ids = new Float64Array(capacity);
    ids.set(this.ids.subarray(0, this.stored));
    this.ids = ids;
    const types = new Uint8Array(capacity);
    types.set(this.types.subarray(0, this.stored));
    this.types = types;
    const addresses = new Float64Array(capacity);
    addresses.set(this.addresses.subarray(0, this.stored));
    this.addresses = addresses;
    const sizes = new Float64Array(capacity);
    sizes.set(this.sizes.subarray(0, this.stored));
    this.sizes = sizes;
    const contexts = new Uint32Array(capacity);
    contexts.set(this.contexts.subarray(0, this.stored));
    this.contexts = contexts;
  }
}
