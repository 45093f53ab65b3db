/**
 * The tracked memory categories, numbered as tt-metal's BufferType (0..4) followed by the
 * original allocation server's extra categories (CB, KERNEL). The number is what travels on the wire.
 */
export const MemoryType = {
  DRAM: 0,
  L1: 1,
  SYSTEM_MEMORY: 2,
  L1_SMALL: 3,
  TRACE: 4,
  /** Circular buffers (per-program L1 scratch). */
  CB: 5,
  /** Kernel binaries. */
  KERNEL: 6,
} as const;

export type MemoryType = (typeof MemoryType)[keyof typeof MemoryType];

/** Number of memory types; valid values are 0 .. MEMORY_TYPE_COUNT - 1. */
export const MEMORY_TYPE_COUNT = 7;

/** Names indexed by MemoryType value. */
export const MEMORY_TYPE_NAMES: readonly MemoryTypeName[] = [
  "DRAM",
  "L1",
  "SYSTEM_MEMORY",
  "L1_SMALL",
  "TRACE",
  "CB",
  "KERNEL",
];

export type MemoryTypeName = keyof typeof MemoryType;

export function isMemoryType(value: number): value is MemoryType {
  return Number.isInteger(value) && value >= 0 && value < MEMORY_TYPE_COUNT;
}

export function memoryTypeName(value: MemoryType): MemoryTypeName {
  return MEMORY_TYPE_NAMES[value]!;
}
