import type { ApiMemoryType } from "../../server/api-types.js";

/**
 * The smi's fixed layout: every column has a fixed width and unit, so a `--loop` never jitters and the
 * table fits the terminal it is printed for. Two profiles fit 80 and 100 columns; `--wide` shows every
 * column whatever the width.
 */
export interface SmiLayout {
  /** Memory types shown, in column order. */
  types: readonly ApiMemoryType[];
  /** Types left out at this width (named under the tables, with the flag that shows them). */
  hiddenTypes: readonly ApiMemoryType[];
  deviceNameWidth: number;
  processNameWidth: number;
  /** The process table's Source column (native, legacy, tt-shm). */
  showSource: boolean;
}

/** Memory types by importance: the first ones stay when the terminal is narrow. */
export const TYPES_BY_PRIORITY: readonly ApiMemoryType[] = [
  "DRAM",
  "L1",
  "CB",
  "TRACE",
  "KERNEL",
  "L1_SMALL",
  "SYSTEM_MEMORY",
];

/** Column headers of the memory types (SYSTEM_MEMORY abbreviated to fit its column). */
export const TYPE_HEADER: Record<ApiMemoryType, string> = {
  DRAM: "DRAM",
  L1: "L1",
  SYSTEM_MEMORY: "SYSMEM",
  L1_SMALL: "L1_SMALL",
  TRACE: "TRACE",
  CB: "CB",
  KERNEL: "KERNEL",
};

/** Decimals of the MiB figures per type: whole MiB for the large pools, tenths for the small ones. */
export const TYPE_DECIMALS: Record<ApiMemoryType, 0 | 1> = {
  DRAM: 0,
  SYSTEM_MEMORY: 0,
  L1: 1,
  L1_SMALL: 1,
  TRACE: 1,
  CB: 1,
  KERNEL: 1,
};

/** Width of each memory-type column, its leading space (the gap before it) included. */
export const TYPE_WIDTH: Record<ApiMemoryType, number> = {
  DRAM: 8,
  L1: 8,
  SYSTEM_MEMORY: 8,
  L1_SMALL: 9,
  TRACE: 8,
  CB: 8,
  KERNEL: 8,
};
/** The default width when the output is not a terminal (a pipe, a file). */
export const DEFAULT_SMI_COLUMNS = 100;

/** The layout for a terminal `columns` wide (below 100: the 80-column profile), or every column. */
export function smiLayout(columns: number, wide: boolean): SmiLayout {
  if (wide) {
    return {
      types: TYPES_BY_PRIORITY,
      hiddenTypes: [],
      deviceNameWidth: 32,
      processNameWidth: 32,
      showSource: true,
    };
  }
  if (columns >= 100) {
    return {
      types: TYPES_BY_PRIORITY,
      hiddenTypes: [],
      deviceNameWidth: 22,
      processNameWidth: 15,
      showSource: false,
    };
  }
  return {
    types: TYPES_BY_PRIORITY.slice(0, 5),
    hiddenTypes: TYPES_BY_PRIORITY.slice(5),
    deviceNameWidth: 20,
    processNameWidth: 12,
    showSource: false,
  };
}
