import { MEMORY_TYPE_COUNT, MEMORY_TYPE_NAMES, MemoryType } from "../../protocol/memory-type.js";
import { listAllocations } from "../queries.js";
import type { Registry } from "../registry.js";

/** The original listed every buffer of a (device, type) holding at most this many. */
const LIST_AT_MOST = 10;
/** Allocations fetched per device to find those short lists (bounds the cost of a dump). */
const FETCH_LIMIT = 4096;
/** Lines one report prints at most; the rest is counted in a last "... n more lines" line. */
export const MAX_REPORT_LINES = 10_000;

const MiB = 1024 * 1024;
const BOX_WIDTH = 62;

function mb(bytes: number): string {
  return (bytes / MiB).toFixed(2);
}

function kb(bytes: number): string {
  return (bytes / 1024).toFixed(2);
}

/** Lines of a report, at most `maxLines` kept; the others only counted. */
class ReportLines {
  private readonly kept: string[] = [];
  private dropped = 0;

  constructor(private readonly maxLines: number) {}

  add(line: string): void {
    if (this.kept.length < this.maxLines) this.kept.push(line);
    else this.dropped++;
  }

  /** Whether more lines would still be kept (lets a report stop walking allocations it cannot show). */
  get full(): boolean {
    return this.kept.length >= this.maxLines;
  }

  skip(lines: number): void {
    this.dropped += lines;
  }

  done(): string[] {
    if (this.dropped > 0) this.kept.push(`... ${this.dropped} more lines`);
    return this.kept;
  }
}

function box(lines: ReportLines, title: string): void {
  const inner = BOX_WIDTH - 2;
  const left = Math.floor((inner - title.length) / 2);
  lines.add(`╔${"═".repeat(inner)}╗`);
  lines.add(`║${" ".repeat(left)}${title}${" ".repeat(inner - left - title.length)}║`);
  lines.add(`╚${"═".repeat(inner)}╝`);
}

function sortedDeviceIds(registry: Registry): number[] {
  return [...registry.devices()].map((d) => d.deviceId).sort((a, b) => a - b);
}

/**
 * DUMP_REMAINING: what is still allocated, per device and memory type (counts and bytes from the
 * incremental totals), listing the buffers of a type when there are at most 10, as the original
 * printed it: a "REMAINING ALLOCATED BUFFERS" box, "TYPE: n buffers, x MB total" per device and type,
 * "No buffers remaining - perfect cleanup!" when nothing is left. At most `maxLines` lines.
 */
export function remainingReport(registry: Registry, nowMs: number, maxLines = MAX_REPORT_LINES): string[] {
  const lines = new ReportLines(maxLines);
  box(lines, "REMAINING ALLOCATED BUFFERS");
  lines.add(`Total tracked allocations: ${registry.liveAllocations}`);
  if (registry.liveAllocations === 0) {
    lines.add("✓ No buffers remaining - perfect cleanup!");
    return lines.done();
  }
  for (const deviceId of sortedDeviceIds(registry)) {
    const device = registry.findDevice(deviceId)!;
    if (device.liveAllocations === 0) continue;
    lines.add("");
    lines.add(`Device ${deviceId}:`);
    const fetched =
      device.liveAllocations <= FETCH_LIMIT && !lines.full
        ? listAllocations(registry, deviceId, "address", FETCH_LIMIT, nowMs).allocations
        : undefined;
    for (let type = 0; type < MEMORY_TYPE_COUNT; type++) {
      const count = device.allocations[type]!;
      if (count === 0) continue;
      const name = MEMORY_TYPE_NAMES[type]!;
      lines.add(`  ${name}: ${count} buffers, ${mb(device.usedBytes[type]!)} MB total`);
      if (count > LIST_AT_MOST) continue;
      if (fetched === undefined) {
        if (lines.full) lines.skip(count);
        else lines.add(`    (not listed: more than ${FETCH_LIMIT} live allocations on the device)`);
        continue;
      }
      for (const a of fetched) {
        if (a.memoryType !== name) continue;
        lines.add(`    - Buffer 0x${a.address.toString(16)}: ${kb(a.sizeBytes)} KB (PID ${a.pid})`);
      }
    }
  }
  return lines.done();
}

/** DUMP_KERNELS: every live kernel binary per device (id, size, owner pid, age), at most `maxLines` lines. */
export function kernelReport(registry: Registry, nowMs: number, maxLines = MAX_REPORT_LINES): string[] {
  const lines = new ReportLines(maxLines);
  box(lines, "DETAILED KERNEL ALLOCATIONS");
  let total = 0;
  for (const deviceId of sortedDeviceIds(registry))
    total += registry.findDevice(deviceId)!.allocations[MemoryType.KERNEL]!;
  lines.add(`Total kernel allocations: ${total}`);
  if (total === 0) {
    lines.add("No kernels loaded");
    return lines.done();
  }
  for (const deviceId of sortedDeviceIds(registry)) {
    const device = registry.findDevice(deviceId)!;
    const count = device.allocations[MemoryType.KERNEL]!;
    if (count === 0) continue;
    lines.add("");
    lines.add(
      `Device ${deviceId} - Total: ${mb(device.usedBytes[MemoryType.KERNEL]!)} MB (${count} kernels)`,
    );
    if (lines.full) {
      lines.skip(count + 1);
      continue;
    }
    if (device.liveAllocations > FETCH_LIMIT) {
      lines.add(`  (not listed: more than ${FETCH_LIMIT} live allocations on the device)`);
      continue;
    }
    lines.add(
      `  ${"Kernel ID".padEnd(20)}${"Size KB".padStart(12)}${"Owner PID".padStart(12)}${"Age s".padStart(8)}`,
    );
    for (const a of listAllocations(registry, deviceId, "address", FETCH_LIMIT, nowMs).allocations) {
      if (a.memoryType !== "KERNEL") continue;
      lines.add(
        `  ${`0x${a.address.toString(16)}`.padEnd(20)}${kb(a.sizeBytes).padStart(12)}` +
          `${String(a.pid).padStart(12)}${String(Math.floor(a.ageMs / 1000)).padStart(8)}`,
      );
    }
  }
  return lines.done();
}
