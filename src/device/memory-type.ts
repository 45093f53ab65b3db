/**
 * Memory categories of the device model: tt-metal's BufferType (DRAM .. TRACE, same numbering)
 * plus circular buffers and kernel binaries, which tt-metal places in L1 outside Buffer objects.
 * The wire protocol keeps its own code table (protocol/memory-type.ts); a test holds the two equal.
 */
export const MemoryType = {
  DRAM: 0,
  L1: 1,
  SYSTEM_MEMORY: 2,
  L1_SMALL: 3,
  TRACE: 4,
  CB: 5,
  KERNEL: 6,
} as const;
export type MemoryType = (typeof MemoryType)[keyof typeof MemoryType];
export type MemoryTypeName = keyof typeof MemoryType;

export const MEMORY_TYPES: readonly MemoryType[] = Object.values(MemoryType);
