/** Public contract of the device allocator. Sizes and addresses are bytes; addresses are per bank. */
import type { MemoryType } from "../memory-type.js";

/** How a free block is chosen. Decided per device at construction. */
export const FitPolicy = {
  /** Lowest fitting address bottom-up, highest top-down (tt-metal's BankManager: FreeListOpt FIRST). */
  FIRST_FIT: "first-fit",
  /**
   * Smallest fitting block; among blocks of that size, the one that took its size most recently (freed,
   * merged or split), in either direction, not the lowest (highest) address as before session 7 (an
   * address order per size would cost what a tree costs). Bottom-up then takes the block's start,
   * top-down its end. (tt-metal's FreeListOpt best fit differs from both: it scans power-of-two size
   * classes kept in address order and takes the first exact fit, else the smallest block of the first
   * class holding a fitting one.)
   */
  BEST_FIT: "best-fit",
} as const;
export type FitPolicy = (typeof FitPolicy)[keyof typeof FitPolicy];

export interface AllocationRequest {
  memoryType: MemoryType;
  /** Buffer size, bytes: a positive multiple of the page size. */
  sizeBytes: number;
  /** Page size, bytes. Pages are padded to the region's alignment in each bank. */
  pageSizeBytes: number;
  /** Spread the pages over every bank of the region (default). false: all pages in one bank. */
  interleaved?: boolean;
  /** Placement; default per type (DRAM, TRACE, CB, KERNEL, SYSTEM_MEMORY bottom-up; L1, L1_SMALL top-down). */
  bottomUp?: boolean;
}

/** One state change of the allocator; the same shape for an allocation and a deallocation. */
export interface AllocatorChange {
  /** Identity of the allocation: unique within (process, device), never reused. */
  allocationId: number;
  /** Per-bank start address, bytes. Reusable after a free: an attribute, not an identity. */
  address: number;
  /** Device sequence number of this change (1, 2, 3 ...), taken inside the allocator's critical section. */
  seq: number;
  /** Requested size across all banks, bytes (what the buffer holds). */
  sizeBytes: number;
  /** Bytes reserved in each bank of the region (lockstep: the same range in every bank). */
  sizePerBankBytes: number;
  /** Banks the pages are spread over (the region's bank count, or 1 when not interleaved). */
  bankCount: number;
  memoryType: MemoryType;
}

export type Allocation = AllocatorChange;
export type Deallocation = AllocatorChange;

/**
 * A change the caller owns and the allocator fills in place (`allocateInto` / `deallocateInto`): the form
 * of allocate / deallocate that creates no object per call, for callers that read the fields at once (a
 * buffer's own allocation path, benchmarks). Each call overwrites every field; keep a copy, not the record.
 */
export class ChangeRecord implements AllocatorChange {
  allocationId = 0;
  address = 0;
  seq = 0;
  sizeBytes = 0;
  sizePerBankBytes = 0;
  bankCount = 0;
  memoryType = 0 as MemoryType;
}

/**
 * Called with the change while the allocator's lock is still held: whatever it does is ordered with the
 * allocator's own state changes. It must be short and must not call back into the allocator (the lock is
 * not re-entrant). If it throws, the change stays committed, the lock is released and the error propagates.
 */
export type InCriticalSection = (change: AllocatorChange) => void;

/**
 * Statistics of one memory type, bytes summed over the region's banks unless named per bank.
 * L1 and CB share one region: for each of them totalBytes, freeBytes, largestFreeBlockBytes and freeBlocks
 * describe the shared region, so totalBytes = freeBytes + allocatedBytes(L1) + allocatedBytes(CB).
 */
export interface AllocatorStatistics {
  memoryType: MemoryType;
  /** Banks of the region. */
  bankCount: number;
  /** Region size in each bank, bytes. */
  bankSizeBytes: number;
  totalBytes: number;
  /** Reserved by live allocations of this type (per-bank size x banks), bytes. */
  allocatedBytes: number;
  freeBytes: number;
  /** Largest contiguous free range of one bank (the same range is free in every bank), bytes. */
  largestFreeBlockBytes: number;
  /** Live allocations of this type. */
  liveBlocks: number;
  /** Free blocks of the region. */
  freeBlocks: number;
  /** Sum of the requested sizes of live allocations of this type, bytes. */
  requestedBytes: number;
}

/** One block of a region, in address order (for memory maps). */
export interface BlockView {
  /** Per-bank start address, bytes. */
  address: number;
  sizePerBankBytes: number;
  free: boolean;
  /** Set for allocated blocks. */
  memoryType?: MemoryType;
  allocationId?: number;
  sizeBytes?: number;
}

export interface SnapshotAllocation {
  allocationId: number;
  memoryType: MemoryType;
  address: number;
  /** Requested size across all banks, bytes. */
  sizeBytes: number;
  sizePerBankBytes: number;
}

/** The live set, taken under the allocator lock: it reflects every change up to and including `seq`. */
export interface AllocatorSnapshot {
  seq: number;
  allocations: SnapshotAllocation[];
}
