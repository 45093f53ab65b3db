/**
 * Where each memory type lives on a device: the allocator's regions, derived from a preset the way
 * tt-metal's allocator derives its bank managers (Allocator::init_one_bank_per_channel and
 * L1BankingAllocator::init_compute_and_storage_l1_bank_manager).
 *
 *   DRAM bank:  [barrier | DRAM ............................ | TRACE]          (TRACE at the top)
 *   core L1:    [firmware | KERNEL config | L1 + CB ......... | L1_SMALL]      (L1_SMALL at the top)
 *   host:       [SYSTEM_MEMORY]                                                (one bank)
 *
 * L1 buffers and circular buffers share one region (one free list): L1 allocates top-down by default and
 * CB bottom-up, as tt-metal places program CBs right after the reserved area and L1 buffers from the top.
 * KERNEL (binaries and runtime config) gets the kernel-config region.
 */
import { InvalidPresetError } from "./errors.js";
import { MEMORY_TYPES, MemoryType } from "./memory-type.js";
import type { DevicePreset } from "./presets.js";

export interface MemoryRegion {
  /** Index of the region in `MemoryLayout.regions`. */
  readonly index: number;
  readonly name: string;
  /** Memory types that allocate from this region (L1 and CB share one). */
  readonly memoryTypes: readonly MemoryType[];
  /** Banks of the region; lockstep: every allocation takes the same offset range in all of them. */
  readonly bankCount: number;
  /** First address of the region in each bank, bytes. */
  readonly baseAddressBytes: number;
  /** Size of the region in each bank, bytes. */
  readonly sizePerBankBytes: number;
  readonly alignmentBytes: number;
  /** Smallest allocation per bank, bytes. */
  readonly minAllocationBytes: number;
}

export interface MemoryLayout {
  readonly regions: readonly MemoryRegion[];
  /** Region index for each MemoryType value. */
  readonly regionOfType: readonly number[];
  /** Default placement per MemoryType value: true = bottom-up (low addresses first). */
  readonly bottomUpByDefault: readonly boolean[];
}

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/**
 * Bytes a buffer reserves in each bank of `region`: ceil(pages / banks) pages, each padded to the
 * region's alignment, at least the minimum allocation (tt-metal's interleaved buffer rule). The
 * allocator reserves exactly this; the server's memory map uses `evenBankBytes`.
 */
export function bankBytes(
  region: MemoryRegion,
  sizeBytes: number,
  pageSizeBytes: number,
  bankCount: number,
): number {
  const alignment = region.alignmentBytes;
  const pagesPerBank = Math.ceil(sizeBytes / pageSizeBytes / bankCount);
  let perBank = pagesPerBank * alignUp(pageSizeBytes, alignment);
  if (perBank < region.minAllocationBytes) perBank = region.minAllocationBytes;
  return alignUp(perBank, alignment);
}

/**
 * `bankBytes` of a buffer interleaved over every bank when its page size is unknown (the wire carries
 * only the total size): as if its pages were one alignment unit each, which is exact whenever the pages
 * are aligned and spread evenly over the banks (else short by less than one page). Equal to
 * `bankBytes(region, alignUp(sizeBytes, alignment × banks), alignment, banks)` (a test holds them equal),
 * written out because the server computes it for every extent of a memory map.
 */
export function evenBankBytes(region: MemoryRegion, sizeBytes: number): number {
  const alignment = region.alignmentBytes;
  const perBank = Math.ceil(sizeBytes / (alignment * region.bankCount)) * alignment;
  // minAllocationBytes is aligned: memoryLayout makes it at least the alignment, and presets keep it a multiple.
  return perBank < region.minAllocationBytes ? alignUp(region.minAllocationBytes, alignment) : perBank;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Builds and checks the layout of `preset`; throws InvalidPresetError with the offending field. */
export function memoryLayout(preset: DevicePreset): MemoryLayout {
  const fail = (problem: string): never => {
    throw new InvalidPresetError(preset?.name ?? "?", problem);
  };
  const { dram, l1, systemMemory } = preset;
  const counts: [string, unknown][] = [
    ["dram.bankCount", dram.bankCount],
    ["dram.bankSizeBytes", dram.bankSizeBytes],
    ["dram.unreservedBaseBytes", dram.unreservedBaseBytes],
    ["dram.alignmentBytes", dram.alignmentBytes],
    ["dram.minAllocationBytes", dram.minAllocationBytes],
    ["dram.traceRegionSizeBytes", dram.traceRegionSizeBytes],
    ["l1.bankCount", l1.bankCount],
    ["l1.sizePerCoreBytes", l1.sizePerCoreBytes],
    ["l1.kernelConfigBaseBytes", l1.kernelConfigBaseBytes],
    ["l1.kernelConfigSizeBytes", l1.kernelConfigSizeBytes],
    ["l1.unreservedBaseBytes", l1.unreservedBaseBytes],
    ["l1.alignmentBytes", l1.alignmentBytes],
    ["l1.minAllocationBytes", l1.minAllocationBytes],
    ["l1.smallRegionSizeBytes", l1.smallRegionSizeBytes],
    ["systemMemory.sizeBytes", systemMemory.sizeBytes],
    ["systemMemory.alignmentBytes", systemMemory.alignmentBytes],
  ];
  for (const [field, value] of counts) {
    if (!isCount(value)) fail(`${field} must be a non-negative integer, got ${String(value)}`);
  }
  for (const [field, value] of [
    ["dram.bankCount", dram.bankCount],
    ["l1.bankCount", l1.bankCount],
    ["dram.alignmentBytes", dram.alignmentBytes],
    ["l1.alignmentBytes", l1.alignmentBytes],
    ["systemMemory.alignmentBytes", systemMemory.alignmentBytes],
  ] as const) {
    if (value === 0) fail(`${field} must be at least 1`);
  }

  // tt-metal aligns the trace region to the DRAM alignment times the number of DRAM views
  // (L1BankingAllocator::generate_config) and places it at the top of every DRAM bank.
  const traceBytes = alignUp(dram.traceRegionSizeBytes, dram.alignmentBytes * dram.bankCount);
  const dramBase = alignUp(dram.unreservedBaseBytes, dram.alignmentBytes);
  const dramBytes = dram.bankSizeBytes - dramBase - traceBytes;
  if (dramBytes < 0)
    fail(`TRACE region (${traceBytes} B) does not fit in a ${dram.bankSizeBytes} B DRAM bank`);

  // L1_SMALL is aligned to the DRAM alignment and sits at the top of each core's L1; the unreserved base is
  // aligned to the DRAM alignment too (generate_config), so DRAM <-> L1 copies keep NoC alignment.
  const smallBytes = alignUp(l1.smallRegionSizeBytes, dram.alignmentBytes);
  const l1Base = alignUp(l1.unreservedBaseBytes, dram.alignmentBytes);
  const l1Bytes = l1.sizePerCoreBytes - l1Base - smallBytes;
  if (l1Bytes < 0) fail(`L1_SMALL (${smallBytes} B) does not fit above the unreserved base ${l1Base}`);
  if (l1.kernelConfigBaseBytes + l1.kernelConfigSizeBytes > l1Base) {
    fail("the kernel-config region must end at or below the L1 unreserved base");
  }

  const regions: MemoryRegion[] = [];
  const add = (
    name: string,
    memoryTypes: MemoryType[],
    bankCount: number,
    baseAddressBytes: number,
    sizePerBankBytes: number,
    alignmentBytes: number,
    minAllocationBytes: number,
  ): number => {
    if (baseAddressBytes % alignmentBytes !== 0 || sizePerBankBytes % alignmentBytes !== 0) {
      // Addresses are region base + multiples of the alignment: the base must be aligned too.
      fail(
        `region ${name} (base ${baseAddressBytes}, size ${sizePerBankBytes}) is not ${alignmentBytes}-aligned`,
      );
    }
    regions.push({
      index: regions.length,
      name,
      memoryTypes,
      bankCount,
      baseAddressBytes,
      sizePerBankBytes,
      alignmentBytes,
      minAllocationBytes: Math.max(minAllocationBytes, alignmentBytes),
    });
    return regions.length - 1;
  };

  const regionOfType: number[] = new Array(MEMORY_TYPES.length).fill(-1);
  regionOfType[MemoryType.DRAM] = add(
    "DRAM",
    [MemoryType.DRAM],
    dram.bankCount,
    dramBase,
    dramBytes - (dramBytes % dram.alignmentBytes),
    dram.alignmentBytes,
    dram.minAllocationBytes,
  );
  regionOfType[MemoryType.TRACE] = add(
    "TRACE",
    [MemoryType.TRACE],
    dram.bankCount,
    dram.bankSizeBytes - traceBytes,
    traceBytes,
    dram.alignmentBytes,
    dram.minAllocationBytes,
  );
  const l1Region = add(
    "L1",
    [MemoryType.L1, MemoryType.CB],
    l1.bankCount,
    l1Base,
    l1Bytes - (l1Bytes % l1.alignmentBytes),
    l1.alignmentBytes,
    l1.minAllocationBytes,
  );
  regionOfType[MemoryType.L1] = l1Region;
  regionOfType[MemoryType.CB] = l1Region;
  regionOfType[MemoryType.L1_SMALL] = add(
    "L1_SMALL",
    [MemoryType.L1_SMALL],
    l1.bankCount,
    l1.sizePerCoreBytes - smallBytes,
    smallBytes,
    l1.alignmentBytes,
    l1.minAllocationBytes,
  );
  regionOfType[MemoryType.KERNEL] = add(
    "KERNEL",
    [MemoryType.KERNEL],
    l1.bankCount,
    l1.kernelConfigBaseBytes,
    l1.kernelConfigSizeBytes - (l1.kernelConfigSizeBytes % l1.alignmentBytes),
    l1.alignmentBytes,
    l1.minAllocationBytes,
  );
  regionOfType[MemoryType.SYSTEM_MEMORY] = add(
    "SYSTEM_MEMORY",
    [MemoryType.SYSTEM_MEMORY],
    1,
    0,
    systemMemory.sizeBytes - (systemMemory.sizeBytes % systemMemory.alignmentBytes),
    systemMemory.alignmentBytes,
    systemMemory.alignmentBytes,
  );

  const bottomUpByDefault: boolean[] = new Array(MEMORY_TYPES.length).fill(true);
  // tt-metal: Buffer's bottom_up defaults to is_dram(); L1 buffers go top-down, away from the CBs.
  bottomUpByDefault[MemoryType.L1] = false;
  bottomUpByDefault[MemoryType.L1_SMALL] = false;
  return { regions, regionOfType, bottomUpByDefault };
}
