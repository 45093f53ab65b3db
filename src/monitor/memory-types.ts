import type { ApiMemoryType } from "../server/api-types.js";

/**
 * Memory types by importance, as every monitor shows them: the first ones stay when the terminal is
 * narrow or short.
 */
export const MEMORY_TYPES_BY_PRIORITY: readonly ApiMemoryType[] = [
  "DRAM",
  "L1",
  "CB",
  "TRACE",
  "KERNEL",
  "L1_SMALL",
  "SYSTEM_MEMORY",
];

/** Column headers of the memory types in the monitors' tables (SYSTEM_MEMORY abbreviated to fit its column). */
export const MEMORY_TYPE_HEADER: Record<ApiMemoryType, string> = {
  DRAM: "DRAM",
  L1: "L1",
  SYSTEM_MEMORY: "SYSMEM",
  L1_SMALL: "L1_SMALL",
  TRACE: "TRACE",
  CB: "CB",
  KERNEL: "KERNEL",
};

/** Decimals of the MiB figures per type: whole MiB for the large pools, tenths for the small ones. */
export const MEMORY_TYPE_DECIMALS: Record<ApiMemoryType, 0 | 1> = {
  DRAM: 0,
  SYSTEM_MEMORY: 0,
  L1: 1,
  L1_SMALL: 1,
  TRACE: 1,
  CB: 1,
  KERNEL: 1,
};
