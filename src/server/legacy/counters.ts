import type { LegacyDeviceCounters } from "../../protocol/legacy/encoder.js";
import { MemoryType } from "../../protocol/memory-type.js";
import type { Registry } from "../registry.js";

/**
 * The per-device totals a QUERY answers, over every process (native and legacy), as the original did.
 * SYSTEM_MEMORY is counted into l1_small, as the original server counted it. Reads the registry's
 * incremental totals: never walks allocations.
 */
export function legacyDeviceCounters(registry: Registry, deviceId: number): LegacyDeviceCounters {
  const device = registry.findDevice(deviceId);
  if (device === undefined) {
    return { dramBytes: 0, l1Bytes: 0, l1SmallBytes: 0, traceBytes: 0, cbBytes: 0, kernelBytes: 0 };
  }
  const used = device.usedBytes;
  return {
    dramBytes: used[MemoryType.DRAM],
    l1Bytes: used[MemoryType.L1],
    l1SmallBytes: used[MemoryType.L1_SMALL] + used[MemoryType.SYSTEM_MEMORY],
    traceBytes: used[MemoryType.TRACE],
    cbBytes: used[MemoryType.CB],
    kernelBytes: used[MemoryType.KERNEL],
  };
}
