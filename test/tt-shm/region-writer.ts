// Writes tt-metal shared-memory regions the way tt-metal lays them out, for the reader's tests. The
// offsets below are spelled out from docs/PROTOCOL.md (T2, T3) on purpose, NOT imported from src: a wrong
// offset in src/protocol/tt-shm/layout.ts then shows up as a test failure instead of agreeing with itself.
import { closeSync, openSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";

/** Counter names in MemoryType order (DRAM 0, L1 1, SYSTEM_MEMORY 2, L1_SMALL 3, TRACE 4, CB 5, KERNEL 6). */
export const TYPE_INDEX = {
  DRAM: 0,
  L1: 1,
  SYSTEM_MEMORY: 2,
  L1_SMALL: 3,
  TRACE: 4,
  CB: 5,
  KERNEL: 6,
} as const;
export type CounterName = "DRAM" | "L1" | "L1_SMALL" | "TRACE" | "CB" | "KERNEL";
export type Counters = Partial<Record<CounterName, number | bigint>>;

interface Offsets {
  size: number;
  counters: readonly CounterName[];
  chipTable: number;
  chipEntry: number;
  slotTable: number;
  slotEntry: number;
  slotLastUpdate: number;
  slotName: number;
}

const V1: Offsets = {
  size: 9280,
  counters: ["DRAM", "L1", "L1_SMALL", "TRACE", "CB", "KERNEL"],
  chipTable: 96,
  chipEntry: 56,
  slotTable: 992,
  slotEntry: 128,
  slotLastUpdate: 56,
  slotName: 64,
};
const V2_TO_V4: Offsets = {
  size: 8576,
  counters: ["DRAM", "L1", "L1_SMALL", "TRACE", "CB"],
  chipTable: 88,
  chipEntry: 48,
  slotTable: 856,
  slotEntry: 120,
  slotLastUpdate: 48,
  slotName: 56,
};
// Header, every version: version u32 @0, num_active u32 @4, last_update u64 @8, reference_count u32 @16,
// board_serial u64 @24, asic_id u64 @32, device_id @40, totals from @48. v4: init_state u32 @8536.
const INIT_STATE = 8536;
export const READY = 0x52454459;

export type LayoutVersion = 1 | 2 | 3 | 4;

export function regionBytes(layout: LayoutVersion): number {
  return layout === 1 ? V1.size : V2_TO_V4.size;
}

export interface ChipSpec {
  chipId: number;
  remote?: boolean;
  used?: Counters;
}

export interface SlotSpec {
  /** Slot number 0..63; default: the next one after the previous slot. */
  index?: number;
  /** Written as i32 (0 = free, -1 = releasing). */
  pid: number;
  name?: string;
  /** Raw name bytes (64 at most) instead of `name`. */
  nameBytes?: Uint8Array;
  used?: Counters;
  lastUpdateNs?: bigint;
}

export interface RegionSpec {
  layout: LayoutVersion;
  /** The version field; default `layout` (0 = being initialised). */
  version?: number;
  /** v4 only; default READY. */
  initState?: number;
  asicId?: bigint;
  /** Written as i32 (v1) or u32. */
  deviceId?: number;
  lastUpdateNs?: bigint;
  numActive?: number;
  referenceCount?: number;
  totals?: Counters;
  /** Chip entries in table order (v2+: the rest are marked unused). */
  chips?: ChipSpec[];
  slots?: SlotSpec[];
}

export const DEFAULT_ASIC_ID = 0x1234_5678_9abc_def0n;

/** The region's bytes (exactly the layout's size). */
export function buildRegion(spec: RegionSpec): Uint8Array {
  const o = spec.layout === 1 ? V1 : V2_TO_V4;
  const bytes = new Uint8Array(o.size);
  const view = new DataView(bytes.buffer);
  const asicId = spec.asicId ?? DEFAULT_ASIC_ID;
  view.setUint32(0, spec.version ?? spec.layout, true);
  view.setUint32(4, spec.numActive ?? (spec.slots ?? []).length, true);
  view.setBigUint64(8, spec.lastUpdateNs ?? 0n, true);
  view.setUint32(16, spec.referenceCount ?? 1, true);
  if (spec.layout === 1) {
    view.setBigUint64(24, asicId >> 8n, true);
    view.setBigUint64(32, asicId & 0xffn, true);
    view.setInt32(40, spec.deviceId ?? 0, true);
  } else {
    view.setBigUint64(24, 0n, true);
    view.setBigUint64(32, asicId, true);
    view.setUint32(40, spec.deviceId ?? 0, true);
  }
  writeCounters(view, 48, o.counters, spec.totals);
  const chips = spec.chips ?? [];
  for (let i = 0; i < 16; i++) {
    const at = o.chipTable + i * o.chipEntry;
    const chip = chips[i];
    if (chip === undefined) {
      if (spec.layout !== 1) view.setUint32(at, 0xffffffff, true);
      continue;
    }
    view.setUint32(at, chip.chipId, true);
    view.setUint32(at + 4, chip.remote ? 1 : 0, true);
    writeCounters(view, at + 8, o.counters, chip.used);
  }
  let next = 0;
  for (const slot of spec.slots ?? []) {
    const index = slot.index ?? next;
    next = index + 1;
    const at = o.slotTable + index * o.slotEntry;
    view.setInt32(at, slot.pid, true);
    writeCounters(view, at + 8, o.counters, slot.used);
    view.setBigUint64(at + o.slotLastUpdate, slot.lastUpdateNs ?? 0n, true);
    const name = slot.nameBytes ?? new TextEncoder().encode(slot.name ?? "");
    bytes.set(name.subarray(0, 64), at + o.slotName);
  }
  if (spec.layout === 4) view.setUint32(INIT_STATE, spec.initState ?? READY, true);
  return bytes;
}

function writeCounters(
  view: DataView,
  at: number,
  order: readonly CounterName[],
  counters: Counters = {},
): void {
  order.forEach((name, i) => {
    view.setBigUint64(at + i * 8, BigInt(counters[name] ?? 0), true);
  });
}

/** Counters as the reader reports them: 7 numbers indexed by MemoryType, absent = 0 (KERNEL: v1 only). */
export function usedArray(layout: LayoutVersion, counters: Counters = {}): number[] {
  const out = [0, 0, 0, 0, 0, 0, 0];
  for (const [name, value] of Object.entries(counters)) {
    if (name === "KERNEL" && layout !== 1) continue;
    out[TYPE_INDEX[name as CounterName]] = Number(value);
  }
  return out;
}

/**
 * What the reader must decode from `buildRegion(spec)` (the test oracle, from docs/PROTOCOL.md): used chip
 * entries (v1: chip id 0 with all counters 0 reads as unused), slots with pid > 0 in table order.
 */
export function expectedRegion(spec: RegionSpec) {
  const layout = spec.layout;
  const chips = (spec.chips ?? []).flatMap((chip) => {
    const usedBytes = usedArray(layout, chip.used);
    if (layout === 1 && chip.chipId === 0 && usedBytes.every((v) => v === 0)) return [];
    return [{ chipId: chip.chipId, remote: chip.remote === true, usedBytes }];
  });
  let next = 0;
  const slots = (spec.slots ?? [])
    .map((slot) => {
      const index = slot.index ?? next;
      next = index + 1;
      return {
        index,
        pid: slot.pid,
        name: slot.name ?? "",
        usedBytes: usedArray(layout, slot.used),
        lastUpdateNs: Number(slot.lastUpdateNs ?? 0n),
      };
    })
    .filter((slot) => slot.pid > 0)
    .sort((a, b) => a.index - b.index);
  return {
    version: layout,
    deviceId: spec.deviceId ?? 0,
    asicId: String(spec.asicId ?? DEFAULT_ASIC_ID),
    lastUpdateNs: Number(spec.lastUpdateNs ?? 0n),
    lastUpdateClock: layout === 1 ? "steady" : "system",
    totalsBytes: usedArray(layout, spec.totals),
    chips,
    slots,
  };
}

/** The region file's name for `asicId`. */
export function regionFileName(asicId: bigint): string {
  return `tt_device_${asicId}_memory`;
}

/** Writes a new region file in `dir`; returns its path. */
export function writeRegionFile(dir: string, spec: RegionSpec): string {
  const path = join(dir, regionFileName(spec.asicId ?? DEFAULT_ASIC_ID));
  writeFileSync(path, buildRegion(spec), { mode: 0o600 });
  return path;
}

/** Rewrites an existing region file in place (same inode, no truncation), as tt-metal's writers do. */
export function overwriteRegionFile(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, bytes, 0, bytes.length, 0);
  } finally {
    closeSync(fd);
  }
}

/** Replaces a region file by a new one under the same name (write a new file, rename it over). */
export function replaceRegionFile(path: string, bytes: Uint8Array): void {
  const next = `${path}.next`;
  writeFileSync(next, bytes, { mode: 0o600 });
  renameSync(next, path);
}
