import type { ApiMemoryType } from "../../server/api-types.js";
import { MEMORY_TYPES_BY_PRIORITY } from "../memory-types.js";

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
      types: MEMORY_TYPES_BY_PRIORITY,
      hiddenTypes: [],
      deviceNameWidth: 32,
      processNameWidth: 32,
      showSource: true,
    };
  }
  if (columns >= 100) {
    return {
      types: MEMORY_TYPES_BY_PRIORITY,
      hiddenTypes: [],
      deviceNameWidth: 22,
      processNameWidth: 15,
      showSource: false,
    };
  }
  return {
    types: MEMORY_TYPES_BY_PRIORITY.slice(0, 5),
    hiddenTypes: MEMORY_TYPES_BY_PRIORITY.slice(5),
    deviceNameWidth: 20,
    processNameWidth: 12,
    showSource: false,
  };
}
