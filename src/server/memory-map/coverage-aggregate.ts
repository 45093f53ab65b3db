/**
 * The aggregated memory map (more live extents than buckets) without sorting: per (device, region,
 * memory types, slice size) a CoverageState counts how many extents cover each alignment unit and each
 * ledger's bytes per slice, kept up to date from the registry's change log between maps; a map then
 * reads word-wide scans of its bitmap (each slice's covered bytes, the free bytes, the largest free
 * block) and the owners' bytes per slice.
 *
 * Why: at a million extents the sort-based build (memory-map.ts) spends most of its time reading the
 * registry in hash order and sorting, and even one sequential walk of every slot per map costs ~20 ms
 * (docs/PERFORMANCE.md `memory_map_ms`); kept coverage costs what changed since the last map plus
 * O(units / 32). It answers only when every extent starts and ends on the region's alignment (what a
 * well-behaved client's allocator produces) and within the limits below; otherwise it returns undefined
 * and the caller uses the exact sort-based build.
 */
import type { MemoryRegion } from "../../device/layout.js";
import type { MemoryMapBucket } from "../api-types.js";
import type { DeviceTotals, Registry } from "../registry.js";
import type { CoverageBitmap } from "./coverage-bitmap.js";
import { CoverageState, CoverageUpdate } from "./coverage-state.js";

/**
 * Most alignment units a region may have for this path: 2^28 units = a 32 MiB bitmap (a 1 GiB DRAM bank
 * at 32-byte alignment needs 2^25, 4 MiB, plus 4 MiB of word index).
 */
export const MAX_COVERAGE_UNITS = 2 ** 28;
/**
 * Coverage states kept (the most recently used): each costs 12 bytes per registry slot (what it counted
 * per slot), the region's bitmap and word index, and its owner counters.
 */
export const MAX_COVERAGE_STATES = 4;
/** Most (ledger serial × slice) byte counters per state: 2^22 = 32 MiB. */
export const MAX_SLICE_OWNER_CELLS = 2 ** 22;

export interface CoverageAggregateResult {
  buckets: MemoryMapBucket[];
  freeBytes: number;
  largestFreeBlock: number;
}

export interface CoverageAggregateOptions {
  /** Most word blocks with overlapping extents per state (CoverageCounts' MAX_OVERLAP_BLOCKS). */
  maxOverlapBlocks?: number;
}

export class CoverageAggregate {
  /** The most recently used first. */
  private readonly states: CoverageState[] = [];
  /** Covered units per slice, when slices fall on bitmap words. */
  private sliceCoveredUnits = new Float64Array(2048);

  constructor(
    private readonly registry: Registry,
    private readonly options: CoverageAggregateOptions = {},
  ) {}

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
    let typeMask = 0;
    for (const type of types) typeMask |= 1 << type;
    const state = this.stateOf(device, region, typeMask, sliceBytes);
    if (state.update() !== CoverageUpdate.Ready) return undefined;

    const sliceCount = Math.ceil(regionBytes / sliceBytes);
    const bitmap = state.counts.bitmap;
    // Covered units per slice and the longest free run: in one pass over the words when every slice
    // is a whole number of words, else slice by slice.
    const wordsPerSlice = sliceBytes / (32 * unit);
    const fused = wordsPerSlice === Math.floor(wordsPerSlice);
    let longestFreeUnits: number;
    if (fused) {
      if (sliceCount > this.sliceCoveredUnits.length) this.sliceCoveredUnits = new Float64Array(sliceCount);
      longestFreeUnits = bitmap.coveredPerSpanAndLongestUncovered(wordsPerSlice, this.sliceCoveredUnits);
    } else {
      longestFreeUnits = bitmap.longestUncovered();
    }
    const { pids, serialsOfPid } = state.owners();
    const ownerBytes = state.ownerBytes;
    const base = region.baseAddressBytes;
    const buckets: MemoryMapBucket[] = new Array(sliceCount);
    let coveredBytes = 0;
    for (let k = 0; k < sliceCount; k++) {
      const lo = k * sliceBytes;
      const hi = Math.min(lo + sliceBytes, regionBytes);
      let bestPid = 0;
      let bestBytes = 0;
      for (let p = 0; p < pids.length; p++) {
        let bytes = 0;
        for (const serial of serialsOfPid[p]) bytes += ownerBytes[serial * sliceCount + k];
        // Ties go to the lower pid.
        if (bytes > bestBytes || (bytes === bestBytes && bytes > 0 && pids[p] < bestPid)) {
          bestPid = pids[p];
          bestBytes = bytes;
        }
      }
      const occupiedBytes = fused
        ? this.sliceCoveredUnits[k] * unit
        : this.coveredBytes(bitmap, lo, hi, unit);
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

  /** The state of (device, region, types, slice size), made and kept (evicting the least recent). */
  private stateOf(
    device: DeviceTotals,
    region: MemoryRegion,
    typeMask: number,
    sliceBytes: number,
  ): CoverageState {
    const states = this.states;
    const at = states.findIndex(
      (s) =>
        s.device === device && s.region === region && s.typeMask === typeMask && s.sliceBytes === sliceBytes,
    );
    if (at >= 0) {
      const [state] = states.splice(at, 1);
      states.unshift(state);
      return state;
    }
    const state = new CoverageState(
      this.registry,
      device,
      region,
      typeMask,
      sliceBytes,
      MAX_SLICE_OWNER_CELLS,
      this.options.maxOverlapBlocks,
    );
    states.unshift(state);
    if (states.length > MAX_COVERAGE_STATES) states.pop();
    return state;
  }

  /** Covered bytes of [lo, hi): whole units inside it, plus the covered parts of units it cuts. */
  private coveredBytes(bitmap: CoverageBitmap, lo: number, hi: number, unit: number): number {
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
}
