/**
 * Device presets: the numbers tt-metal's allocator is configured with for a chip, taken from tt-metal's
 * SoC descriptors (tt_metal/soc_descriptors/*.yaml), device memory maps (tt_metal/hw/inc/<arch>/dev_mem_map.h),
 * tt_metal/hostdevcommon/common_runtime_address_map.h and L1BankingAllocator::generate_config
 * (tt_metal/impl/allocator/l1_banking_allocator.cpp). `memoryLayout()` (layout.ts) turns a preset into the
 * allocator's regions exactly as tt-metal does (alignment of L1_SMALL and TRACE, region order).
 *
 * Application-chosen sizes (L1_SMALL, TRACE) default to 0 in tt-metal (DEFAULT_L1_SMALL_SIZE and
 * DEFAULT_TRACE_REGION_SIZE in tt_metal/hostdevcommon/common_values.hpp); ttnn programs pass their own.
 * The presets use representative values; `withRegionSizes()` derives a preset with other sizes.
 */

export type Architecture = "WORMHOLE_B0" | "BLACKHOLE" | "TINY";

export interface DramConfig {
  /** DRAM banks (one per DRAM channel / view); interleaved DRAM buffers spread over all of them. */
  readonly bankCount: number;
  /** Bytes per bank (SoC descriptor `dram_bank_size`). */
  readonly bankSizeBytes: number;
  /** First allocatable byte of each bank (below it: the host/device barrier word). */
  readonly unreservedBaseBytes: number;
  /** Address and size alignment of DRAM allocations, bytes (HAL DRAM alignment). */
  readonly alignmentBytes: number;
  /** Smallest allocation per bank, bytes (tt-metal: equal to the alignment). */
  readonly minAllocationBytes: number;
  /** Per-bank size of the TRACE region at the top of each bank, bytes, before alignment (0 = no region). */
  readonly traceRegionSizeBytes: number;
}

export interface L1Config {
  /** L1 banks: one per worker (compute-and-storage) core. */
  readonly bankCount: number;
  /** Bytes of L1 per worker core (SoC descriptor `worker_l1_size`). */
  readonly sizePerCoreBytes: number;
  /** Start of the kernel-config region (= MEM_MAP_END: firmware, mailboxes below it), bytes. */
  readonly kernelConfigBaseBytes: number;
  /** Size of the kernel-config region (L1_KERNEL_CONFIG_SIZE), bytes. */
  readonly kernelConfigSizeBytes: number;
  /** First byte the L1 allocator may hand out (before alignment to the DRAM alignment), bytes. */
  readonly unreservedBaseBytes: number;
  /** Address and size alignment of L1 allocations, bytes (HAL L1 alignment). */
  readonly alignmentBytes: number;
  /** Smallest allocation per bank, bytes (tt-metal: equal to the alignment). */
  readonly minAllocationBytes: number;
  /** Size of the L1_SMALL region at the top of each core's L1, bytes, before alignment (0 = no region). */
  readonly smallRegionSizeBytes: number;
}

export interface SystemMemoryConfig {
  /** Host memory the device can address (one pinned hugepage channel per device), bytes. */
  readonly sizeBytes: number;
  readonly alignmentBytes: number;
}

export interface DevicePreset {
  /** Stable preset name, e.g. "wormhole_b0_n150". */
  readonly name: string;
  readonly architecture: Architecture;
  /** Human-readable board name. */
  readonly board: string;
  readonly dram: DramConfig;
  readonly l1: L1Config;
  readonly systemMemory: SystemMemoryConfig;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Representative application choices (see the file comment): 32 KiB L1_SMALL, 32 MiB TRACE per bank. */
const DEFAULT_L1_SMALL_BYTES = 32 * KiB;
const DEFAULT_TRACE_REGION_BYTES = 32 * MiB;

/** L1_KERNEL_CONFIG_SIZE = 69 * 1024 (tt_metal/hostdevcommon/common_runtime_address_map.h). */
const KERNEL_CONFIG_BYTES = 69 * KiB;

/**
 * Wormhole B0 on an n150 card.
 * - DRAM: 12 banks of 1 GiB: wormhole_b0_80_arch.yaml lists 12 DRAM views (6 channels x 2 halves,
 *   `dram_address_offsets` 0 / 1 GiB) and `dram_bank_size: 1073741824`.
 * - DRAM alignment 32 B (wh HAL; ADDRESS_ALIGNMENT in common_values.hpp); the barrier word at 0 is padded
 *   to one alignment unit, so the unreserved base is 32.
 * - L1: `worker_l1_size: 1499136` (1464 KiB, MEM_L1_SIZE in wormhole/dev_mem_map.h). n150 is harvested to
 *   an 8x8 Tensix grid (64 of the 80 functional workers) and dispatches from ethernet cores, so 64 banks.
 * - MEM_MAP_END = 91392 (wormhole/dev_mem_map.h @000305be: NCRISC init IRAM base 75008 + 16 KiB), followed by
 *   the 69 KiB kernel-config region; the unreserved base is their end, 162048.
 * - L1 alignment 16 B (wh HAL L1_ALIGNMENT).
 */
export const WORMHOLE_B0_N150: DevicePreset = {
  name: "wormhole_b0_n150",
  architecture: "WORMHOLE_B0",
  board: "n150",
  dram: {
    bankCount: 12,
    bankSizeBytes: 1073741824,
    unreservedBaseBytes: 32,
    alignmentBytes: 32,
    minAllocationBytes: 32,
    traceRegionSizeBytes: DEFAULT_TRACE_REGION_BYTES,
  },
  l1: {
    bankCount: 64,
    sizePerCoreBytes: 1499136,
    kernelConfigBaseBytes: 91392,
    kernelConfigSizeBytes: KERNEL_CONFIG_BYTES,
    unreservedBaseBytes: 91392 + KERNEL_CONFIG_BYTES,
    alignmentBytes: 16,
    minAllocationBytes: 16,
    smallRegionSizeBytes: DEFAULT_L1_SMALL_BYTES,
  },
  systemMemory: { sizeBytes: 1 * GiB, alignmentBytes: 32 },
};

/**
 * One Wormhole B0 chip of an n300 card (the card carries two; each is its own device in tt-metal).
 * - Same SoC as the n150 (wormhole_b0_80_arch.yaml): 12 DRAM banks of 1 GiB, 1464 KiB of L1 per worker,
 *   the same memory map (MEM_MAP_END 91392) and alignments.
 * - L1: 64 banks. ttnn's get_default_dispatch_core_type() picks ethernet dispatch on N300 clusters, and the
 *   ethernet-dispatch core descriptor (wormhole_b0_80_arch_eth_dispatch.yaml, `nebula_x2`) gives an 8x8
 *   compute grid. (With worker dispatch the same board has 8x7 = 56; tt-metal's default is ethernet.)
 */
export const WORMHOLE_B0_N300: DevicePreset = {
  ...WORMHOLE_B0_N150,
  name: "wormhole_b0_n300",
  board: "n300",
};

/**
 * Blackhole on a p150 card.
 * - DRAM: 8 banks of 4278190080 B (blackhole_140_arch.yaml `dram_bank_size`, = MEM_DRAM_SIZE 4177920 KiB in
 *   blackhole/dev_mem_map.h); DRAM alignment 64 B (bh HAL), so the barrier word pads to 64.
 * - L1: `worker_l1_size: 1499136` in blackhole_140_arch.yaml. The 140 Tensix cores form a 14x10 grid; one
 *   column runs dispatch, leaving a 13x10 compute grid: 130 banks.
 * - MEM_MAP_END = 30672 (blackhole/dev_mem_map.h @01002aa3: packet-header pool base 29136 + 1536), then the
 *   69 KiB kernel-config region; their end 101328 is aligned up to the DRAM alignment by layout.ts (101376).
 * - L1 alignment 16 B (bh HAL L1_ALIGNMENT).
 */
export const BLACKHOLE_P150: DevicePreset = {
  name: "blackhole_p150",
  architecture: "BLACKHOLE",
  board: "p150",
  dram: {
    bankCount: 8,
    bankSizeBytes: 4278190080,
    unreservedBaseBytes: 64,
    alignmentBytes: 64,
    minAllocationBytes: 64,
    traceRegionSizeBytes: DEFAULT_TRACE_REGION_BYTES,
  },
  l1: {
    bankCount: 130,
    sizePerCoreBytes: 1499136,
    kernelConfigBaseBytes: 30672,
    kernelConfigSizeBytes: KERNEL_CONFIG_BYTES,
    unreservedBaseBytes: 30672 + KERNEL_CONFIG_BYTES,
    alignmentBytes: 16,
    minAllocationBytes: 16,
    smallRegionSizeBytes: DEFAULT_L1_SMALL_BYTES,
  },
  systemMemory: { sizeBytes: 1 * GiB, alignmentBytes: 64 },
};

/**
 * A small device for tests: every region holds a handful of blocks, so out-of-memory and fragmentation
 * are easy to reach. The minimum DRAM allocation (64 B) is larger than the alignment (32 B) on purpose.
 */
export const TINY: DevicePreset = {
  name: "tiny",
  architecture: "TINY",
  board: "test",
  dram: {
    bankCount: 2,
    bankSizeBytes: 64 * KiB,
    unreservedBaseBytes: 32,
    alignmentBytes: 32,
    minAllocationBytes: 64,
    traceRegionSizeBytes: 8 * KiB,
  },
  l1: {
    bankCount: 4,
    sizePerCoreBytes: 16 * KiB,
    kernelConfigBaseBytes: 1 * KiB,
    kernelConfigSizeBytes: 2 * KiB,
    unreservedBaseBytes: 3 * KiB,
    alignmentBytes: 16,
    minAllocationBytes: 16,
    smallRegionSizeBytes: 1 * KiB,
  },
  systemMemory: { sizeBytes: 64 * KiB, alignmentBytes: 32 },
};

export const DEVICE_PRESETS: Readonly<Record<string, DevicePreset>> = {
  [WORMHOLE_B0_N150.name]: WORMHOLE_B0_N150,
  [WORMHOLE_B0_N300.name]: WORMHOLE_B0_N300,
  [BLACKHOLE_P150.name]: BLACKHOLE_P150,
  [TINY.name]: TINY,
};

/** A copy of `preset` with other application-chosen region sizes (bytes per bank / per core). */
export function withRegionSizes(
  preset: DevicePreset,
  sizes: { l1SmallBytes?: number; traceRegionBytes?: number },
): DevicePreset {
  return {
    ...preset,
    dram: {
      ...preset.dram,
      traceRegionSizeBytes: sizes.traceRegionBytes ?? preset.dram.traceRegionSizeBytes,
    },
    l1: { ...preset.l1, smallRegionSizeBytes: sizes.l1SmallBytes ?? preset.l1.smallRegionSizeBytes },
  };
}
