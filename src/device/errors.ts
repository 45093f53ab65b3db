/**
 * Errors of the device layer. One class per failure, each with a stable string `code`: callers match on
 * `code`, never on the message. To add an error, add a code to `DeviceErrorCode` and a class below.
 */
import { MemoryType } from "./memory-type.js";

const TYPE_NAMES: readonly string[] = Object.entries(MemoryType)
  .sort((a, b) => a[1] - b[1])
  .map(([name]) => name);

/** "DRAM", "L1", ... or the number itself when it is not a memory type. */
export function memoryTypeName(memoryType: number): string {
  return TYPE_NAMES[memoryType] ?? String(memoryType);
}

export const DeviceErrorCode = {
  OUT_OF_MEMORY: "DEVICE_OUT_OF_MEMORY",
  INVALID_SIZE: "DEVICE_INVALID_SIZE",
  INVALID_PAGE_SIZE: "DEVICE_INVALID_PAGE_SIZE",
  INVALID_MEMORY_TYPE: "DEVICE_INVALID_MEMORY_TYPE",
  BLOCK_TABLE_FULL: "DEVICE_BLOCK_TABLE_FULL",
  UNKNOWN_ALLOCATION: "DEVICE_UNKNOWN_ALLOCATION",
  CLOSED: "DEVICE_CLOSED",
  INVALID_PRESET: "DEVICE_INVALID_PRESET",
  INVALID_OPTIONS: "DEVICE_INVALID_OPTIONS",
  INVALID_HANDLE: "DEVICE_INVALID_HANDLE",
  SUB_DEVICE_MANAGER_MISMATCH: "DEVICE_SUB_DEVICE_MANAGER_MISMATCH",
  HOOKED_DEALLOCATION: "DEVICE_HOOKED_DEALLOCATION",
  BUFFER_NOT_ALLOCATED: "DEVICE_BUFFER_NOT_ALLOCATED",
  REENTRANT_CALL: "DEVICE_REENTRANT_CALL",
  OPERATION_SCOPE: "DEVICE_OPERATION_SCOPE",
} as const;
export type DeviceErrorCode = (typeof DeviceErrorCode)[keyof typeof DeviceErrorCode];

/** Base class of every error the device layer throws. */
export abstract class DeviceError extends Error {
  abstract readonly code: string;
  override get name(): string {
    return this.constructor.name;
  }
}

/** What an out-of-memory error reports (all sizes in bytes). */
export interface OutOfMemoryDetails {
  memoryType: MemoryType;
  /** Bytes the caller asked for (all banks together). */
  requestedBytes: number;
  /** Bytes needed in each bank (lockstep: the same offset range in every bank). */
  sizePerBankBytes: number;
  /** Banks the data is spread over (1 for a non-interleaved buffer). */
  bankCount: number;
  /** Largest contiguous free range of one bank. */
  largestFreeBlockBytes: number;
  /** Free bytes in one bank (all free blocks together). */
  freeBytesPerBank: number;
}

export class OutOfMemoryError extends DeviceError {
  readonly code = DeviceErrorCode.OUT_OF_MEMORY;
  readonly details: OutOfMemoryDetails;
  constructor(details: OutOfMemoryDetails) {
    const d = details;
    super(
      `Out of memory: cannot allocate ${d.requestedBytes} B of ${memoryTypeName(d.memoryType)} ` +
        `over ${d.bankCount} bank(s): each bank needs ${d.sizePerBankBytes} B, ` +
        `but the largest free block is ${d.largestFreeBlockBytes} B ` +
        `(${d.freeBytesPerBank} B free per bank in total)`,
    );
    this.details = details;
  }
}

export class InvalidSizeError extends DeviceError {
  readonly code = DeviceErrorCode.INVALID_SIZE;
  constructor(readonly sizeBytes: number) {
    super(`Invalid allocation size ${sizeBytes}: it must be a positive integer number of bytes below 2^53`);
  }
}

export class InvalidPageSizeError extends DeviceError {
  readonly code = DeviceErrorCode.INVALID_PAGE_SIZE;
  constructor(
    readonly sizeBytes: number,
    readonly pageSizeBytes: number,
  ) {
    super(
      `Invalid page size ${pageSizeBytes} for ${sizeBytes} B: the page size must be a positive integer ` +
        `that divides the size`,
    );
  }
}

export class InvalidMemoryTypeError extends DeviceError {
  readonly code = DeviceErrorCode.INVALID_MEMORY_TYPE;
  constructor(readonly memoryType: number) {
    super(`Invalid memory type ${memoryType}: expected one of MemoryType's values (0..6)`);
  }
}

export class BlockTableFullError extends DeviceError {
  readonly code = DeviceErrorCode.BLOCK_TABLE_FULL;
  constructor(
    readonly memoryType: MemoryType,
    readonly capacityBlocks: number,
  ) {
    super(
      `Block table of the ${memoryTypeName(memoryType)} region is full (${capacityBlocks} blocks): ` +
        `create the device with a larger maxBlocksPerRegion`,
    );
  }
}

export class UnknownAllocationError extends DeviceError {
  readonly code = DeviceErrorCode.UNKNOWN_ALLOCATION;
  constructor(
    readonly memoryType: MemoryType,
    readonly address: number,
  ) {
    super(`No live ${memoryTypeName(memoryType)} allocation at address ${address} to deallocate`);
  }
}

export class DeviceClosedError extends DeviceError {
  readonly code = DeviceErrorCode.CLOSED;
  constructor(
    readonly deviceId: number,
    readonly operation: string,
  ) {
    super(`Cannot ${operation}: device ${deviceId} is closed`);
  }
}

/** The allocator was called from its own inCriticalSection callback (its lock is not re-entrant). */
export class ReentrantCallError extends DeviceError {
  readonly code = DeviceErrorCode.REENTRANT_CALL;
  constructor(
    readonly deviceId: number,
    readonly operation: string,
  ) {
    super(
      `Cannot ${operation} on device ${deviceId} from an inCriticalSection callback: ` +
        `the allocator lock is held; record the change and act on it after the call returns`,
    );
  }
}

export class InvalidPresetError extends DeviceError {
  readonly code = DeviceErrorCode.INVALID_PRESET;
  constructor(presetName: string, problem: string) {
    super(`Invalid device preset "${presetName}": ${problem}`);
  }
}

export class InvalidDeviceOptionsError extends DeviceError {
  readonly code = DeviceErrorCode.INVALID_OPTIONS;
}

export class InvalidSharedHandleError extends DeviceError {
  readonly code = DeviceErrorCode.INVALID_HANDLE;
}

// ---- DeviceBuffer and GraphTracker (device-buffer.ts, graph-tracker.ts) ----

/** A buffer made for a sub-device is used after the device switched to another sub-device manager. */
export class SubDeviceManagerMismatchError extends DeviceError {
  readonly code = DeviceErrorCode.SUB_DEVICE_MANAGER_MISMATCH;
  constructor(
    readonly deviceId: number,
    readonly operation: string,
    readonly bufferManagerId: number,
    readonly activeManagerId: number,
  ) {
    super(
      `Cannot ${operation} the buffer: sub-device manager mismatch on device ${deviceId} ` +
        `(buffer's manager ${bufferManagerId}, active manager ${activeManagerId}); ` +
        `load manager ${bufferManagerId} again or create the buffer under the active one`,
    );
  }
}

/** A capture hook claimed the deallocation of a buffer whose allocation it did not capture. */
export class HookedDeallocationError extends DeviceError {
  readonly code = DeviceErrorCode.HOOKED_DEALLOCATION;
  constructor(readonly deviceId: number) {
    super(
      `A graph hook claimed the deallocation of a buffer on device ${deviceId} whose allocation no hook ` +
        `captured: honouring it would leak the buffer's memory; the hook must only claim buffers it captured`,
    );
  }
}

/** An operation that needs an allocated buffer met one that is not (or no longer) allocated. */
export class BufferNotAllocatedError extends DeviceError {
  readonly code = DeviceErrorCode.BUFFER_NOT_ALLOCATED;
  constructor(
    readonly deviceId: number,
    readonly operation: string,
  ) {
    super(`Cannot ${operation} a buffer on device ${deviceId} that is not allocated (or not owned)`);
  }
}

/**
 * An operation scope used wrongly: an empty or non-string name, nesting past MAX_OPERATION_DEPTH, or an
 * end without a begin (or naming another operation than the innermost one).
 */
export class OperationScopeError extends DeviceError {
  readonly code = DeviceErrorCode.OPERATION_SCOPE;
}
