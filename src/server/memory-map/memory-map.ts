/**
 * The live memory map of one memory type of one device: the bank-local address space one bank (DRAM
 * channel, or Tensix core for L1) sees, since tt-metal gives an interleaved buffer the same offset range
 * in every bank of its type. Rules (docs/ARCHITECTURE.md "Memory map"):
 *
 * - An extent is [address, address + bankBytes): `evenBankBytes` of the device's layout, the allocator's
 *   own per-bank rule for pages spread evenly (the wire carries no page size).
 * - L1 and CB share one region and one free list (src/device/layout.ts): a map of either shows both,
 *   each extent naming its type. KERNEL and SYSTEM_MEMORY are not mapped.
 * - Several sessions may describe one device id (separate processes simulating it), so extents may
 *   overlap: all are listed, and occupancy counts overlapping bytes once (free = the region less the
 *   union of the extents).
 * - Beyond `buckets` extents the map is aggregated into `buckets` equal slices; the free figures stay exact.
 */
import type { MemoryLayout, MemoryRegion } from "../../device/layout.js";
import { evenBankBytes } from "../../device/layout.js";
import { MEMORY_TYPE_NAMES, MemoryType } from "../../protocol/memory-type.js";
import type {
  MemoryMapBucket,
  MemoryMapExtent,
  MemoryMapFreeExtent,
  MemoryMapResponse,
  MemoryMapType,
} from "../api-types.js";
import type { DeviceTotals, Ledger, Registry } from "../registry.js";
import { CoverageAggregate, type CoverageAggregateOptions } from "./coverage-aggregate.js";
import { ExtentTable } from "./extent-table.js";

/** Map types, in the order errors list them. */
export const MEMORY_MAP_TYPES: readonly MemoryMapType[] = ["DRAM", "L1", "L1_SMALL", "TRACE", "CB"];
export const DEFAULT_MEMORY_MAP_BUCKETS = 2048;
export const MAX_MEMORY_MAP_BUCKETS = 65536;

/** Wire memory types each map type shows (L1 and CB share their region). */
const TYPES_OF: Record<MemoryMapType, readonly number[]> = {
  DRAM: [MemoryType.DRAM],
  L1: [MemoryType.L1, MemoryType.CB],
  CB: [MemoryType.L1, MemoryType.CB],
  L1_SMALL: [MemoryType.L1_SMALL],
  TRACE: [MemoryType.TRACE],
};

export interface MemoryMapRequest {
  deviceId: number;
  memoryType: MemoryMapType;
  /** 1 ..= MAX_MEMORY_MAP_BUCKETS. */
  buckets: number;
  nowMs: number;
}

/** Live allocations of the map's types on `device` and the bytes they hold over all banks. */
export function liveOfMapType(
  device: DeviceTotals | undefined,
  memoryType: MemoryMapType,
): { allocations: number; usedBytes: number } {
  let allocations = 0;
  let usedBytes = 0;
  for (const type of TYPES_OF[memoryType]) {
    allocations += device?.allocations[type] ?? 0;
    usedBytes += device?.usedBytes[type] ?? 0;
  }
  return { allocations, usedBytes };
}

/** The answer when the server cannot place allocations in a bank: totals and the reason. */
export function inexactMemoryMap(
  request: MemoryMapRequest,
  device: DeviceTotals | undefined,
  reason: string,
  usedBytes: number,
): MemoryMapResponse {
  return {
    deviceId: request.deviceId,
    memoryType: request.memoryType,
    exact: false,
    reason,
    regionStart: 0,
    regionEnd: 0,
    bankCount: 0,
    extents: [],
    free: [],
    buckets: [],
    largestFreeBlock: 0,
    freeBytes: 0,
    fragmentation: 0,
    allocations: liveOfMapType(device, request.memoryType).allocations,
    usedBytes,
  };
}

/**
 * Builds maps from the registry's typed arrays. One instance per server: its buffers are reused, and
 * requests run synchronously between events, so the registry does not change during one.
 *
 * Two ways to the same answer: with more extents than buckets, the CoverageAggregate (no sort, reads the
 * registry in slot order) when every extent is aligned; else gather, sort by address and walk.
 */
export class MemoryMapBuilder {
  private readonly table = new ExtentTable();
  private readonly coverage: CoverageAggregate | undefined;

  constructor(
    private readonly registry: Registry,
    /** Process name of a session (empty when unknown). */
    private readonly processNameOf: (sessionId: string) => string,
    /**
     * `coverage: false` always takes the sort-based way (tests compare the two); `maxOverlapBlocks`
     * lowers the coverage's limit on overlapping words (tests of the fallback).
     */
    options: { coverage?: boolean } & CoverageAggregateOptions = {},
  ) {
    this.coverage = options.coverage === false ? undefined : new CoverageAggregate(registry, options);
  }

  build(
    request: MemoryMapRequest,
    layout: MemoryLayout,
    device: DeviceTotals | undefined,
  ): MemoryMapResponse {
    const types = TYPES_OF[request.memoryType];
    const region = layout.regions[layout.regionOfType[types[0]]];
    const regionBytes = region.sizePerBankBytes;
    const { allocations, usedBytes } = liveOfMapType(device, request.memoryType);
    const exact = {
      deviceId: request.deviceId,
      memoryType: request.memoryType,
      exact: true,
      regionStart: region.baseAddressBytes,
      regionEnd: region.baseAddressBytes + regionBytes,
      bankCount: region.bankCount,
      allocations,
      usedBytes,
    };
    if (allocations > request.buckets && device !== undefined && regionBytes > 0) {
      const sliceBytes = Math.max(1, Math.ceil(regionBytes / request.buckets));
      const aggregate = this.coverage?.build(device, types, region, sliceBytes);
      if (aggregate !== undefined) {
        const { buckets, freeBytes, largestFreeBlock } = aggregate;
        return {
          ...exact,
          extents: [],
          free: [],
          buckets,
          largestFreeBlock,
          freeBytes,
          fragmentation: freeBytes > 0 ? 1 - largestFreeBlock / freeBytes : 0,
        };
      }
    }
    const owners = this.gather(device, types, region, allocations);
    const table = this.table;
    table.sortByStart();

    const listed = table.count <= request.buckets;
    const free: MemoryMapFreeExtent[] = [];
    const sliceBytes = Math.max(1, Math.ceil(regionBytes / request.buckets));
    const sliceCount = listed || regionBytes === 0 ? 0 : Math.ceil(regionBytes / sliceBytes);
    const occupied = new Float64Array(sliceCount);

    // One walk in address order: the gaps between the union of the extents are the free extents.
    let cursor = 0;
    let freeBytes = 0;
    let largest = 0;
    const base = region.baseAddressBytes;
    const gap = (from: number, to: number): void => {
      const size = to - from;
      freeBytes += size;
      if (size > largest) largest = size;
      if (listed) free.push({ address: base + from, sizeBytes: size });
    };
    const { start, end } = table.sorted;
    for (let i = 0; i < table.count; i++) {
      // Clipped to the region: a client's address outside it still lists, but occupies nothing here.
      const s = Math.max(start[i], 0);
      const t = Math.min(end[i], regionBytes);
      if (t <= s) continue;
      if (s > cursor) gap(cursor, s);
      if (t > cursor) {
        if (sliceCount > 0) spread(occupied, sliceBytes, Math.max(s, cursor), t);
        cursor = t;
      }
    }
    if (cursor < regionBytes) gap(cursor, regionBytes);

    return {
      ...exact,
      extents: listed ? this.extents(owners, region, request.nowMs) : [],
      free,
      buckets: sliceCount > 0 ? this.slices(owners, occupied, sliceBytes, regionBytes, base) : [],
      largestFreeBlock: largest,
      freeBytes,
      fragmentation: freeBytes > 0 ? 1 - largest / freeBytes : 0,
    };
  }

  /**
   * Fills the table with the device's live extents of `types`, in one sequential walk of the registry's
   * slot columns (a slot's ledger serial picks its owner); returns the ledgers.
   */
  private gather(
    device: DeviceTotals | undefined,
    types: readonly number[],
    region: MemoryRegion,
    allocations: number,
  ): Ledger[] {
    const { registry, table } = this;
    table.reset(allocations, region.alignmentBytes, region.sizePerBankBytes);
    const owners: Ledger[] = [];
    if (device === undefined) return owners;
    // Serial → owner index + 1 (0: not this device's).
    const ownerOfSerial = new Int32Array(registry.ledgerSerialLimit);
    for (const ledger of device.ledgers) {
      owners.push(ledger);
      ownerOfSerial[ledger.serial] = owners.length;
    }
    let typeMask = 0;
    for (const type of types) typeMask |= 1 << type;
    const base = region.baseAddressBytes;
    const { slotCount, ledgerSerial, memoryType, address, sizeBytes } = registry.slotColumns();
    for (let slot = 0; slot < slotCount; slot++) {
      const owner = ownerOfSerial[ledgerSerial[slot]] - 1;
      if (owner < 0 || ((typeMask >>> memoryType[slot]) & 1) === 0) continue;
      const offset = address[slot] - base;
      table.add(slot, owner, offset, offset + evenBankBytes(region, sizeBytes[slot]));
    }
    return owners;
  }

  private extents(owners: readonly Ledger[], region: MemoryRegion, nowMs: number): MemoryMapExtent[] {
    const { registry, table } = this;
    const { index, owner } = table.sorted;
    const names = owners.map((ledger) => this.processNameOf(ledger.account.sessionId));
    const out: MemoryMapExtent[] = new Array(table.count);
    for (let i = 0; i < table.count; i++) {
      const slot = table.slot[index[i]];
      const ledger = owners[owner[i]];
      const sizeBytes = registry.sizeBytesAt(slot);
      out[i] = {
        address: registry.addressAt(slot),
        bankBytes: evenBankBytes(region, sizeBytes),
        sizeBytes,
        pid: ledger.account.pid,
        processName: names[owner[i]],
        sessionId: ledger.account.sessionId,
        allocationId: registry.allocationIdAt(slot),
        ageMs: Math.max(0, nowMs - registry.allocatedAtMsAt(slot)),
        memoryType: MEMORY_TYPE_NAMES[registry.memoryTypeAt(slot)] as MemoryMapType,
      };
    }
    return out;
  }

  /**
   * The aggregate: per slice, its occupied bytes (computed by the free walk) and the pid whose extents
   * cover most of it (overlapping extents each count; ties to the lower pid). A sweep in address order
   * keeps the extents still open at each slice, so the cost is O(extents + slices × overlap depth).
   */
  private slices(
    owners: readonly Ledger[],
    occupied: Float64Array,
    sliceBytes: number,
    regionBytes: number,
    base: number,
  ): MemoryMapBucket[] {
    const table = this.table;
    const { start, end, owner } = table.sorted;
    const pidOfOwner = owners.map((ledger) => ledger.account.pid);
    const pidBytes = new Float64Array(owners.length);
    const touched = new Int32Array(owners.length);
    const open = new Int32Array(table.count);
    let openCount = 0;
    let next = 0;
    const out: MemoryMapBucket[] = new Array(occupied.length);
    for (let k = 0; k < occupied.length; k++) {
      const lo = k * sliceBytes;
      const hi = Math.min(lo + sliceBytes, regionBytes);
      while (next < table.count && start[next] < hi) {
        if (end[next] > start[next]) open[openCount++] = next;
        next++;
      }
      let touchedCount = 0;
      let kept = 0;
      for (let j = 0; j < openCount; j++) {
        const e = open[j];
        const overlap = Math.min(end[e], hi) - Math.max(start[e], lo);
        if (overlap > 0) {
          // Bytes are summed per owner (ledger), then per pid below.
          const o = owner[e];
          if (pidBytes[o] === 0) touched[touchedCount++] = o;
          pidBytes[o] += overlap;
        }
        if (end[e] > hi) open[kept++] = e;
      }
      openCount = kept;
      out[k] = {
        address: base + lo,
        sizeBytes: hi - lo,
        occupiedBytes: occupied[k],
        dominantPid: dominantPid(pidOfOwner, pidBytes, touched, touchedCount),
      };
    }
    return out;
  }
}

/** The pid with most bytes among the touched owners (summing owners of one pid); resets their bytes. */
function dominantPid(
  pidOfOwner: readonly number[],
  pidBytes: Float64Array,
  touched: Int32Array,
  touchedCount: number,
): number {
  let bestPid = 0;
  let bestBytes = 0;
  for (let i = 0; i < touchedCount; i++) {
    const pid = pidOfOwner[touched[i]];
    let bytes = 0;
    // Owners of one pid are few (one per session of the process): a nested scan is cheaper than a map.
    for (let j = 0; j < touchedCount; j++) {
      if (pidOfOwner[touched[j]] === pid) bytes += pidBytes[touched[j]];
    }
    if (bytes > bestBytes || (bytes === bestBytes && pid < bestPid)) {
      bestPid = pid;
      bestBytes = bytes;
    }
  }
  for (let i = 0; i < touchedCount; i++) pidBytes[touched[i]] = 0;
  return bestPid;
}

/** Adds [from, to) to the slices it covers. */
function spread(occupied: Float64Array, sliceBytes: number, from: number, to: number): void {
  let k = Math.floor(from / sliceBytes);
  let at = from;
  while (at < to) {
    const sliceEnd = (k + 1) * sliceBytes;
    const upTo = Math.min(sliceEnd, to);
    occupied[k] += upTo - at;
    at = upTo;
    k++;
  }
}
