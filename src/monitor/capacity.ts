import type { ApiMemoryType, DeviceSummary } from "../server/api-types.js";

/** How full one memory type of a device is, as the monitors show it. */
export interface Utilisation {
  /** Bytes counted against the capacity (for L1: L1 and CB together). */
  usedBytes: number;
  /** Capacity, bytes; 0 when unknown. */
  totalBytes: number;
  /** Whole percent of the capacity; undefined when the capacity is unknown. */
  percent: number | undefined;
  /** More is used than the capacity (a miscount, or a descriptor that is wrong): always flagged. */
  over: boolean;
}

/**
 * Utilisation of `type` on `device`. Circular buffers live in L1 (one region, one free list), so L1's
 * figure counts CB too; CB alone has no capacity of its own unless the server gives one.
 */
export function utilisation(device: DeviceSummary, type: ApiMemoryType): Utilisation {
  const own = device.memory[type];
  let usedBytes = own?.used ?? 0;
  const totalBytes = own?.total ?? 0;
  if (type === "L1") usedBytes += device.memory.CB?.used ?? 0;
  if (!(totalBytes > 0)) return { usedBytes, totalBytes: 0, percent: undefined, over: false };
  return {
    usedBytes,
    totalBytes,
    percent: Math.round((usedBytes / totalBytes) * 100),
    over: usedBytes > totalBytes,
  };
}

/** The memory types of `device` whose use exceeds their capacity, with the figures. */
export function overCapacity(
  device: DeviceSummary,
  types: readonly ApiMemoryType[],
): { type: ApiMemoryType; usedBytes: number; totalBytes: number }[] {
  const found: { type: ApiMemoryType; usedBytes: number; totalBytes: number }[] = [];
  for (const type of types) {
    const u = utilisation(device, type);
    if (u.over) found.push({ type, usedBytes: u.usedBytes, totalBytes: u.totalBytes });
  }
  return found;
}
