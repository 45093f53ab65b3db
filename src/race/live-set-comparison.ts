import type { MemoryType } from "../device/memory-type.js";
import type { ReplayedAllocation, ReplayMode } from "./replay.js";

/** What the allocator itself says is live (its snapshot's allocations). */
export interface AllocatorLiveAllocation {
  allocationId: number;
  memoryType: MemoryType;
  address: number;
  sizeBytes: number;
}

export interface LiveSetComparison {
  equal: boolean;
  /** Live in the allocator, absent from the replay (a lost ALLOC or a spurious FREE). */
  missing: AllocatorLiveAllocation[];
  /** Live in the replay, absent from the allocator (a phantom leak). */
  extra: ReplayedAllocation[];
}

/**
 * Compare a replayed live set with the allocator's own. Ordered mode matches by allocation id and
 * requires type, address and size to agree; naive mode has no ids to trust and matches by
 * (memory type, address, size), one replayed entry per allocator allocation.
 */
export function compareLiveSets(
  mode: ReplayMode,
  replayed: readonly ReplayedAllocation[],
  allocator: readonly AllocatorLiveAllocation[],
): LiveSetComparison {
  const keyOf = (a: AllocatorLiveAllocation): string =>
    mode === "ordered"
      ? `${a.allocationId}/${a.memoryType}/${a.address}/${a.sizeBytes}`
      : `${a.memoryType}/${a.address}/${a.sizeBytes}`;
  const remaining = new Map<string, ReplayedAllocation[]>();
  for (const r of replayed) {
    const k = keyOf(r);
    const list = remaining.get(k);
    if (list === undefined) remaining.set(k, [r]);
    else list.push(r);
  }
  const missing: AllocatorLiveAllocation[] = [];
  for (const a of allocator) {
    const list = remaining.get(keyOf(a));
    if (list === undefined || list.length === 0) missing.push(a);
    else list.pop();
  }
  const extra: ReplayedAllocation[] = [];
  for (const list of remaining.values()) extra.push(...list);
  return { equal: missing.length === 0 && extra.length === 0, missing, extra };
}
