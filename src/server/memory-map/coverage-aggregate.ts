/**
 * The aggregated memory map (more live extents than buckets) without sorting: one sequential walk of the
 * registry's slot columns marks each extent in a CoverageBitmap and adds its bytes to its slice's owner,
 * then word-wide scans give each slice's covered bytes, the free bytes and the largest free block.
 *
 * Why: at a million extents the sort-based build (memory-map.ts) spends most of its time reading the
 * registry in hash order and sorting (docs/PERFORMANCE.md `memory_map_ms`); this path reads memory in
 * order and does O(extents + units / 32) work. It answers only when every extent starts and ends on the
 * region's alignment (what a well-behaved client's allocator produces) and the buffers stay within their
 * bounds; otherwise it returns undefined and the caller uses the exact sort-based build.
 */
import { evenBankBytes, type MemoryRegion } from "../../device/layout.js";
import type { MemoryMapBucket } from "../api-types.js";
import type { DeviceTotals, Registry } from "../registry.js";
import { BankExtentCaches, EXTENT_OUTSIDE, EXTENT_UNALIGNED } from "./bank-extent-cache.js";
import { CoverageBitmap } from "./coverage-bitmap.js";

/**
 * Most alignment units a region may have for this path: 2^28 units = a 32 MiB bitmap (a 1 GiB DRAM bank
 * at 32-byte alignment needs 2^25, 4 MiB). Larger regions use the sort-based build.
 */
export const MAX_COVERAGE_UNITS = 2 ** 28;
/** Regions whose bank extents are kept between maps (BankExtentCache: 12 bytes per registry slot each). */
export const MAX_EXTENT_CACHES = 4;
/** Most (slice × distinct pid) byte counters for the dominant owner: 2^22 = 32 MiB. */
export const MAX_SLICE_OWNER_CELLS = 2 ** 22;

export interface CoverageAggregateResult {
  buckets: MemoryMapBucket[];
  freeBytes: number;
  largestFreeBlock: number;
}

export class CoverageAggregate {
  private readonly bitmap = new CoverageBitmap();
  /** Ledger serial → index of its pid among the device's pids, or -1 (another device). */
  private pidOfSerial = new Int32Array(256);
  /** Bytes per (slice, pid index): slice * pidCount + pid. */
  private sliceOwnerBytes = new Float64Array(4096);
  /** Covered units per slice, when slices fall on bitmap words. */
  private sliceCoveredUnits = new Float64Array(2048);
  private readonly extentCaches = new BankExtentCaches<MemoryRegion>(MAX_EXTENT_CACHES);

  constructor(private readonly registry: Registry) {}

  /**
   * The aggregate of the extents of `types` (wire memory types) of `device` in `region`, in slices of
   * `sliceBytes` (the last one shorter); undefined when this path cannot answer exactly (see above).
   */
  build(
    device: DeviceTotals,
    types: readonly number[],
    region: MemoryRegion,
    sliceBytes: number,
  ): CoverageAggregateResult | undefined {
    const unit = region.alignmentBytes;
    const regionBytes = region.sizePerBankBytes;
    const powerOfTwo = unit > 0 && (unit & (unit - 1)) === 0;
    if (!powerOfTwo || regionBytes % unit !== 0 || regionBytes / unit > MAX_COVERAGE_UNITS) return undefined;
    const sliceCount = Math.ceil(regionBytes / sliceBytes);
    const pids = this.indexPids(device);
    if (sliceCount * pids.length > MAX_SLICE_OWNER_CELLS) return undefined;
    const pidCount = pids.length;
    const cells = sliceCount * pidCount;
    if (cells > this.sliceOwnerBytes.length) this.sliceOwnerBytes = new Float64Array(cells);
    const sliceOwnerBytes = this.sliceOwnerBytes;
    sliceOwnerBytes.fill(0, 0, cells);
    const units = regionBytes / unit;
    const bitmap = this.bitmap;
    bitmap.reset(units);

    let typeMask = 0;
    for (const type of types) typeMask |= 1 << type;
    const pidOfSerial = this.pidOfSerial;
    const base = region.baseAddressBytes;
    const { slotCount, ledgerSerial, generation, memoryType, address, sizeBytes } =
      this.registry.slotColumns();
    const cache = this.extentCaches.of(region);
    cache.reserve(slotCount);
    const { generation: cachedGeneration, fromUnit, toUnit } = cache;
    // evenBankBytes, unrolled: it runs once per allocation that changed since the last map.
    const pageBytes = unit * region.bankCount;
    // The alignment is a power of two (checked above), so multiplying by its inverse is exact.
    const perUnit = 1 / unit;
    const minBankBytes = evenBankBytes(region, 0);
    const perSlice = 1 / sliceBytes;
    const wordsPerSlice = sliceBytes / (32 * unit);
    const sliceShift =
      wordsPerSlice >= 1 && Number.isInteger(wordsPerSlice) && (wordsPerSlice & (wordsPerSlice - 1)) === 0
        ? 31 - Math.clz32(wordsPerSlice)
        : -1;
    const words = bitmap.words;
    for (let slot = 0; slot < slotCount; slot++) {
      const serial = ledgerSerial[slot];
      if (serial === 0) continue;
      const pid = pidOfSerial[serial];
      if (pid < 0 || ((typeMask >>> memoryType[slot]) & 1) === 0) continue;
      let from: number;
      let to: number;
      if (cachedGeneration[slot] === generation[slot]) {
        from = fromUnit[slot];
        to = toUnit[slot];
      } else {
        const offset = address[slot] - base;
        const perBank = Math.ceil(sizeBytes[slot] / pageBytes) * unit;
        // Clipped to the region: an address outside it occupies nothing here (as in the sorted build).
        const startUnit = offset > 0 ? offset * perUnit : 0;
        const endOffset = offset + Math.max(perBank, minBankBytes);
        const endUnit = Math.min(endOffset, regionBytes) * perUnit;
        // Whole unit numbers below 2^28 (MAX_COVERAGE_UNITS): `| 0` keeps them, and cuts any fraction.
        from = startUnit | 0;
        to = endUnit | 0;
        if (endUnit <= startUnit) from = EXTENT_OUTSIDE;
        else if (from !== startUnit || to !== endUnit) from = EXTENT_UNALIGNED;
        cachedGeneration[slot] = generation[slot];
        fromUnit[slot] = from;
        toUnit[slot] = to;
      }
      if (from < 0) {
        if (from === EXTENT_UNALIGNED) return undefined;
        continue;
      }
      // CoverageBitmap.cover, inlined: this loop is the request's cost.
      const first = from >>> 5;
      const last = (to - 1) >>> 5;
      const headMask = -1 << (from & 31);
      const tailMask = -1 >>> (31 - ((to - 1) & 31));
      if (first === last) {
        words[first] |= headMask & tailMask;
      } else {
        words[first] |= headMask;
        for (let w = first + 1; w < last; w++) words[w] = -1;
        words[last] |= tailMask;
      }
      // The extent's bytes in each slice it spans (usually one), for the dominant owner. When slices are
      // a power-of-two number of words (the default 2048 slices of a power-of-two region are), a shift
      // of the word index finds the slice.
      if (sliceShift >= 0 && first >>> sliceShift === last >>> sliceShift) {
        sliceOwnerBytes[(first >>> sliceShift) * pidCount + pid] += (to - from) * unit;
        continue;
      }
      const start = from * unit;
      const end = to * unit;
      let slice = Math.floor(start * perSlice);
      // The inverse may round: step to the slice that holds `start`.
      if (slice * sliceBytes > start) slice--;
      else if ((slice + 1) * sliceBytes <= start) slice++;
      let sliceEnd = (slice + 1) * sliceBytes;
      if (end <= sliceEnd) {
        sliceOwnerBytes[slice * pidCount + pid] += end - start;
        continue;
      }
      let at = start;
      while (at < end) {
        const upTo = Math.min(sliceEnd, end);
        sliceOwnerBytes[slice * pidCount + pid] += upTo - at;
        at = upTo;
        slice++;
        sliceEnd += sliceBytes;
      }
    }

    // Covered units per slice and the longest free run: in one pass over the words when every slice
    // is a whole number of words, else slice by slice.
    let longestFreeUnits: number;
    if (wordsPerSlice === Math.floor(wordsPerSlice)) {
      if (sliceCount > this.sliceCoveredUnits.length) this.sliceCoveredUnits = new Float64Array(sliceCount);
      longestFreeUnits = bitmap.coveredPerSpanAndLongestUncovered(wordsPerSlice, this.sliceCoveredUnits);
    } else {
      longestFreeUnits = bitmap.longestUncovered();
    }
    const fused = wordsPerSlice === Math.floor(wordsPerSlice);
    const buckets: MemoryMapBucket[] = new Array(sliceCount);
    let coveredBytes = 0;
    for (let k = 0; k < sliceCount; k++) {
      const lo = k * sliceBytes;
      const hi = Math.min(lo + sliceBytes, regionBytes);
      let bestPid = 0;
      let bestBytes = 0;
      const row = k * pidCount;
      for (let p = 0; p < pidCount; p++) {
        const bytes = sliceOwnerBytes[row + p];
        // Ties go to the lower pid.
        if (bytes > bestBytes || (bytes === bestBytes && bytes > 0 && pids[p] < bestPid)) {
          bestPid = pids[p];
          bestBytes = bytes;
        }
      }
      const occupiedBytes = fused ? this.sliceCoveredUnits[k] * unit : this.coveredBytes(lo, hi, unit);
      coveredBytes += occupiedBytes;
      buckets[k] = { address: base + lo, sizeBytes: hi - lo, occupiedBytes, dominantPid: bestPid };
    }
    return {
      buckets,
      // The slices tile the region.
      freeBytes: regionBytes - coveredBytes,
      largestFreeBlock: longestFreeUnits * unit,
    };
  }

  /** Covered bytes of [lo, hi): whole units inside it, plus the covered parts of units it cuts. */
  private coveredBytes(lo: number, hi: number, unit: number): number {
    const bitmap = this.bitmap;
    const firstUnit = Math.floor(lo / unit);
    const lastUnit = Math.floor(hi / unit);
    if (firstUnit === lastUnit) return bitmap.covered(firstUnit) ? hi - lo : 0;
    let bytes = 0;
    let wholeFrom = firstUnit;
    if (lo % unit !== 0) {
      if (bitmap.covered(firstUnit)) bytes += (firstUnit + 1) * unit - lo;
      wholeFrom++;
    }
    bytes += bitmap.countCovered(wholeFrom, lastUnit) * unit;
    if (hi % unit !== 0 && bitmap.covered(lastUnit)) bytes += hi - lastUnit * unit;
    return bytes;
  }

  /** Fills pidOfSerial for the device's ledgers; returns the device's distinct pids. */
  private indexPids(device: DeviceTotals): number[] {
    const limit = this.registry.ledgerSerialLimit;
    if (limit > this.pidOfSerial.length) {
      let size = this.pidOfSerial.length;
      while (size < limit) size *= 2;
      this.pidOfSerial = new Int32Array(size);
    }
    this.pidOfSerial.fill(-1, 0, limit);
    const indexOfPid = new Map<number, number>();
    for (const ledger of device.ledgers) {
      const pid = ledger.account.pid;
      let index = indexOfPid.get(pid);
      if (index === undefined) {
        index = indexOfPid.size;
        indexOfPid.set(pid, index);
      }
      this.pidOfSerial[ledger.serial] = index;
    }
    return [...indexOfPid.keys()];
  }
}
