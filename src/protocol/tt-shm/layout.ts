/**
 * tt-metal's per-chip memory-statistics regions: POSIX shared-memory files
 * `/dev/shm/tt_device_<asic id, unsigned decimal>_memory` that every tt-metal process attached to the chip
 * updates in place (the `DeviceMemoryRegion` of tt-metal's memory_stats_shm.hpp). Little-endian, every
 * counter a plain integer. Four layout versions shipped; this file holds each one as data, so the decoder
 * has no per-version code paths. docs/PROTOCOL.md ("tt-metal shared-memory regions") is the prose form.
 */
import { MemoryType } from "../memory-type.js";

export type TtShmVersion = 1 | 2 | 3 | 4;

/** Slots in the process table, every version (tt-metal's MAX_PROCESSES). */
export const TT_SHM_MAX_PROCESSES = 64;
/** Entries in the chip table, every version (tt-metal's MAX_CHIPS_PER_DEVICE). */
export const TT_SHM_MAX_CHIPS = 16;
/** Bytes of the NUL-padded process name (`/proc/<pid>/comm`) in a process slot. */
export const TT_SHM_PROCESS_NAME_BYTES = 64;
/** v4 `init_state` once the region is initialised: the multi-character constant 'REDY' (bytes "YDER" in memory). */
export const TT_SHM_INIT_READY = 0x52454459;
/** v4 `init_state` values before it: a zero-filled region, and an initialiser at work. */
export const TT_SHM_INIT_UNINITIALISED = 0;
export const TT_SHM_INIT_IN_PROGRESS = 1;
/** v2+ chip-table `chip_id` of an unused entry (chip 0 is a real chip). v1 used 0, ambiguously. */
export const TT_SHM_CHIP_UNUSED_V2 = 0xffffffff;
/** v2+ process-slot `pid` of a slot being released by the process that reaps it. */
export const TT_SHM_SLOT_RELEASING = -1;

/** File names of regions: the asic id between the fixed parts, decimal digits only. */
export const TT_SHM_FILE_NAME = /^tt_device_([0-9]+)_memory$/;

/**
 * One version's layout. Offsets are bytes from the start of the region (header fields) or of a table
 * entry (entry fields). Counters are u64; `counterTypes[i]` is the memory type of the i-th u64 of a
 * counter group (the totals, a chip entry's counters, a slot's counters), all groups in the same order.
 */
export interface TtShmLayout {
  readonly version: TtShmVersion;
  /** sizeof(DeviceMemoryRegion): the region is this long (aligned to 64 bytes). */
  readonly regionBytes: number;
  readonly numActiveProcessesOffset: number; // u32
  readonly lastUpdateOffset: number; // u64 ns
  /** Whether timestamps are system-clock (epoch) ns; v1 wrote steady-clock ns (a per-boot origin). */
  readonly epochTimestamps: boolean;
  readonly boardSerialOffset: number; // u64
  readonly asicIdOffset: number; // u64
  /** v1 split the id: board_serial = id >> 8, asic_id = id & 0xFF. v2+: asic_id holds the whole id. */
  readonly asicIdSplit: boolean;
  readonly deviceIdOffset: number;
  /** v1: i32; v2+: u32. */
  readonly deviceIdSigned: boolean;
  readonly totalsOffset: number;
  readonly counterTypes: readonly MemoryType[];
  readonly chipTableOffset: number;
  readonly chipEntryBytes: number;
  readonly chipIdOffset: number; // u32, in an entry
  readonly chipRemoteOffset: number; // u32 (0 or 1), in an entry
  readonly chipCountersOffset: number; // in an entry
  /** `chip_id` of an unused entry: v1 0 (an entry of chip 0 with counters is still read), v2+ 0xFFFFFFFF. */
  readonly chipUnused: number;
  readonly processTableOffset: number;
  readonly processEntryBytes: number;
  readonly slotPidOffset: number; // i32, in an entry
  readonly slotCountersOffset: number; // in an entry
  readonly slotLastUpdateOffset: number; // u64 ns, in an entry
  readonly slotNameOffset: number; // char[64], in an entry
  /** u32 `init_state` (v4), or -1 where the version has none (v1..v3: version 0 = not initialised). */
  readonly initStateOffset: number;
  /** Whether `num_active_processes` is exact (v4 derives it; v1..v3 moved it with racy ++/--, so it drifts). */
  readonly numActiveExact: boolean;
}

const V1_COUNTERS: readonly MemoryType[] = [
  MemoryType.DRAM,
  MemoryType.L1,
  MemoryType.L1_SMALL,
  MemoryType.TRACE,
  MemoryType.CB,
  MemoryType.KERNEL,
];
const V2_COUNTERS: readonly MemoryType[] = [
  MemoryType.DRAM,
  MemoryType.L1,
  MemoryType.L1_SMALL,
  MemoryType.TRACE,
  MemoryType.CB,
];

const HEADER = {
  numActiveProcessesOffset: 4,
  lastUpdateOffset: 8,
  boardSerialOffset: 24,
  asicIdOffset: 32,
  deviceIdOffset: 40,
  totalsOffset: 48,
  chipIdOffset: 0,
  chipRemoteOffset: 4,
  chipCountersOffset: 8,
  slotPidOffset: 0,
  slotCountersOffset: 8,
} as const;

/** Early / PR-era layout: six counters (KERNEL included), 56-byte chip entries, 128-byte slots. */
const V1: TtShmLayout = {
  ...HEADER,
  version: 1,
  regionBytes: 9280,
  epochTimestamps: false,
  asicIdSplit: true,
  deviceIdSigned: true,
  counterTypes: V1_COUNTERS,
  chipTableOffset: 96,
  chipEntryBytes: 56,
  chipUnused: 0,
  processTableOffset: 992,
  processEntryBytes: 128,
  slotLastUpdateOffset: 56,
  slotNameOffset: 64,
  initStateOffset: -1,
  numActiveExact: false,
};

/** v2 and v3 share every offset (v3 only made fields atomic); v4 appends `init_state`. */
function mainBranch(version: 2 | 3 | 4): TtShmLayout {
  return {
    ...HEADER,
    version,
    regionBytes: 8576,
    epochTimestamps: true,
    asicIdSplit: false,
    deviceIdSigned: false,
    counterTypes: V2_COUNTERS,
    chipTableOffset: 88,
    chipEntryBytes: 48,
    chipUnused: TT_SHM_CHIP_UNUSED_V2,
    processTableOffset: 856,
    processEntryBytes: 120,
    slotLastUpdateOffset: 48,
    slotNameOffset: 56,
    initStateOffset: version === 4 ? 8536 : -1,
    numActiveExact: version === 4,
  };
}

/** Layouts by version number; index 0 is unused (version 0 = a region still being initialised). */
export const TT_SHM_LAYOUTS: readonly (TtShmLayout | undefined)[] = [
  undefined,
  V1,
  mainBranch(2),
  mainBranch(3),
  mainBranch(4),
];

/** The layout of `version`, or undefined for a version this reader does not know. */
export function ttShmLayout(version: number): TtShmLayout | undefined {
  return Number.isInteger(version) && version > 0 ? TT_SHM_LAYOUTS[version] : undefined;
}

/** The largest region of any known version, bytes: a reader that reads this much sees every field. */
export const TT_SHM_MAX_REGION_BYTES = 9280;
