import { MEMORY_TYPE_COUNT, MEMORY_TYPE_NAMES, MemoryType } from "../../protocol/memory-type.js";
import { listAllocations } from "../queries.js";
import type { Registry } from "../registry.js";

/** The original listed every buffer of a (device, type) holding at most this many. */
const LIST_AT_MOST = 10;
/** Allocations fetched per device to find those short lists (bounds the cost of a dump). */
const FETCH_LIMIT = 4096;

const MiB = 1024 * 1024;

function mb(bytes: number): string {
  return (bytes / MiB).toFixed(2);
}

function kb(bytes: number): string {
  return (bytes / 1024).toFixed(2);
}

function sortedDeviceIds(registry: Registry): number[] {
  return [...registry.devices()].map((d) => d.deviceId).sort((a, b) => a - b);
}

/**
 * DUMP_REMAINING: what is still allocated, per device and memory type (counts and bytes from the
 * incremental totals), listing the buffers of a type when there are at most 10, as the original did.
 */
export function remainingReport(registry: Registry, nowMs: number): string[] {
  const lines = ["REMAINING ALLOCATED BUFFERS", `Total tracked allocations: ${registry.liveAllocations}`];
  if (registry.liveAllocations === 0) {
    lines.push("No buffers remaining - perfect cleanup!");
    return lines;
  }
  for (const deviceId of sortedDeviceIds(registry)) {
    const device = registry.findDevice(deviceId)!;
    if (device.liveAllocations === 0) continue;
    lines.push(`Device ${deviceId}:`);
    const fetched =
      device.liveAllocations <= FETCH_LIMIT
        ? listAllocations(registry, deviceId, "address", FETCH_LIMIT, nowMs).allocations
        : undefined;
    for (let type = 0; type < MEMORY_TYPE_COUNT; type++) {
      const count = device.allocations[type];
      if (count === 0) continue;
      const name = MEMORY_TYPE_NAMES[type]!;
      lines.push(`  ${name}: ${count} buffers, ${mb(device.usedBytes[type])} MB total`);
      if (count > LIST_AT_MOST) continue;
      if (fetched === undefined) {
        lines.push(`    (not listed: more than ${FETCH_LIMIT} live allocations on the device)`);
        continue;
      }
      for (const a of fetched) if (a.memoryType === name) lines.push(`    - ${describe(a)}`);
    }
  }
  return lines;
}

/** DUMP_KERNELS: every live kernel binary per device, with owner pid and age. */
export function kernelReport(registry: Registry, nowMs: number): string[] {
  const lines = ["DETAILED KERNEL ALLOCATIONS"];
  let total = 0;
  for (const deviceId of sortedDeviceIds(registry)) {
    const device = registry.findDevice(deviceId)!;
    const count = device.allocations[MemoryType.KERNEL];
    if (count === 0) continue;
    total += count;
    lines.push(
      `Device ${deviceId} - Total: ${mb(device.usedBytes[MemoryType.KERNEL])} MB (${count} kernels)`,
    );
    if (device.liveAllocations > FETCH_LIMIT) {
      lines.push(`  (not listed: more than ${FETCH_LIMIT} live allocations on the device)`);
      continue;
    }
    for (const a of listAllocations(registry, deviceId, "address", FETCH_LIMIT, nowMs).allocations) {
      if (a.memoryType !== "KERNEL") continue;
      lines.push(
        `  Kernel ID: 0x${a.address.toString(16)}  Size: ${kb(a.sizeBytes)} KB  Owner PID: ${a.pid}  ` +
          `Age: ${Math.floor(a.ageMs / 1000)} s`,
      );
    }
  }
  lines.splice(1, 0, `Total kernel allocations: ${total}`);
  return lines;
}

function describe(a: { address: number; sizeBytes: number; pid: number; allocationId: number }): string {
  return `Buffer 0x${a.address.toString(16)}: ${kb(a.sizeBytes)} KB (PID ${a.pid}, allocation ${a.allocationId})`;
}
