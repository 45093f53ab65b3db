/**
 * A device buffer with tt-metal's lifecycle (tt_metal/impl/buffers/buffer.cpp): a buffer is requested,
 * allocated (or captured by a graph hook), and deallocated once; every real allocator change is reported
 * to a GraphTracker with the sequence number the allocator took inside its critical section.
 *
 * What is reported, and why:
 * - ALLOC: after the allocator granted the memory, with the grant's seq, allocation id and address.
 * - FREE: after the allocator released the memory, with the seq the release took. (tt-metal reports the
 *   FREE before releasing; with sequence numbers the order is carried by the number, and reporting after
 *   the release is the only way to know it.)
 * - Nothing for a captured (hooked) allocation: it has address 0, no memory and no sequence number.
 * - Nothing for a zero-size buffer: it never reaches the allocator.
 * - Nothing for a pre-allocated, non-owning buffer (`DeviceBuffer.atAddress`) nor when it is marked as
 *   deallocated. It is a view of memory another allocation owns; that owner's ALLOC and FREE already
 *   account for the bytes. The original server reported views by address, which double-counted them
 *   and forced its "ref_count" rule for repeated ALLOCs at one address.
 * - Nothing when the device is no longer initialised: closing the device released its memory in bulk,
 *   so deallocation is only a state change here.
 */
import {
  type Allocation,
  type AllocationRequest,
  ChangeRecord,
  type Deallocation,
} from "./allocator/types.js";
import { ChangeOp } from "./change.js";
import {
  BufferNotAllocatedError,
  DeviceClosedError,
  InvalidMemoryTypeError,
  InvalidPageSizeError,
  InvalidSizeError,
  SubDeviceManagerMismatchError,
} from "./errors.js";
import { defaultGraphTracker, type GraphTracker, type HookedBuffer } from "./graph-tracker.js";
import { MEMORY_TYPES, type MemoryType } from "./memory-type.js";

// Private copies of constants for the allocation path: V8 re-reads an imported or exported binding from
// its module cell (with a check that it is initialised) at every use, a local constant it folds.
const REQUESTED = "ALLOCATION_REQUESTED";
const ALLOCATED = "ALLOCATED";
const DEALLOCATED = "DEALLOCATED";
const OP_ALLOC: ChangeOp = ChangeOp.ALLOC;
const OP_FREE: ChangeOp = ChangeOp.FREE;
const MEMORY_TYPE_LIMIT = MEMORY_TYPES.length;
/**
 * The allocator's answer to this realm's buffers: one record, read right after each call (no object per
 * allocation). Nothing runs between the allocator filling it and the buffer copying its fields out.
 */
const GRANT = new ChangeRecord();

/** The part of an allocator a buffer uses (the device's Allocator). */
export interface BufferAllocator {
  allocateInto(request: AllocationRequest, into: ChangeRecord): Allocation;
  deallocateInto(memoryType: MemoryType, address: number, into: ChangeRecord): Deallocation;
  /** Sequence number of the allocator's latest change (0 before any). */
  readonly lastSeq: number;
}

/** The part of a device a buffer uses (the Device class has it all). */
export interface BufferDevice {
  readonly id: number;
  readonly allocator: BufferAllocator;
  /** True when other realms (worker threads) change this device's allocator too. */
  readonly shared: boolean;
  /** Monotonic time, ns. */
  readonly clock: () => number;
  isInitialized(): boolean;
  /**
   * The device's active sub-device manager (tt-metal's get_active_sub_device_manager_id). A device without
   * sub-device managers leaves it undefined, which reads as manager 0.
   */
  readonly activeSubDeviceManagerId?: number;
}

export const BufferStatus = {
  ALLOCATION_REQUESTED: REQUESTED,
  ALLOCATED,
  DEALLOCATED,
} as const;
export type BufferStatus = (typeof BufferStatus)[keyof typeof BufferStatus];

export interface BufferSpec {
  memoryType: MemoryType;
  /** Total size, bytes; 0 makes a buffer that never touches the allocator. */
  sizeBytes: number;
  /** Page size, bytes; must divide sizeBytes. Default: sizeBytes (one page). */
  pageSizeBytes?: number;
  /** Spread pages over every bank of the memory type (default true, as tt-metal's interleaved layout). */
  interleaved?: boolean;
  /** Placement; default is the memory type's (tt-metal: bottom-up for DRAM, top-down for L1). */
  bottomUp?: boolean;
  /**
   * Allocate for a sub-device: the buffer then records the device's active sub-device manager and
   * refuses to allocate or deallocate once another manager is active.
   */
  subDeviceId?: number;
}

export interface BufferOptions {
  /** Tracker that hears about this buffer's changes and consults capture hooks. Default: defaultGraphTracker. */
  tracker?: GraphTracker;
}

/** Everything another thread needs to take over an allocated buffer (plain data, structured-cloneable). */
export interface BufferTransfer {
  deviceId: number;
  memoryType: MemoryType;
  sizeBytes: number;
  pageSizeBytes: number;
  address: number;
  allocationId: number;
  sizePerBankBytes: number;
  subDeviceManagerId: number | undefined;
}

/**
 * tt-metal's Buffer. Named DeviceBuffer because a class named Buffer shadows Node's global Buffer in
 * every module that imports it.
 */
export class DeviceBuffer implements HookedBuffer {
  readonly deviceId: number;
  readonly memoryType: MemoryType;
  readonly sizeBytes: number;
  readonly pageSizeBytes: number;
  readonly interleaved: boolean;
  readonly bottomUp: boolean | undefined;
  /** The sub-device manager active when the buffer was created for a sub-device; undefined otherwise. */
  readonly subDeviceManagerId: number | undefined;

  private statusValue: BufferStatus = REQUESTED;
  private addressValue = 0;
  private allocationIdValue: number | undefined;
  private sizePerBankValue = 0;
  private ownsDataValue: boolean;
  private hookedValue = false;

  private constructor(
    private readonly device: BufferDevice,
    spec: BufferSpec,
    ownsData: boolean,
    private readonly tracker: GraphTracker,
  ) {
    const pageSizeBytes = spec.pageSizeBytes ?? spec.sizeBytes;
    validateSpec(spec.memoryType, spec.sizeBytes, pageSizeBytes);
    this.deviceId = device.id;
    this.memoryType = spec.memoryType;
    this.sizeBytes = spec.sizeBytes;
    this.pageSizeBytes = pageSizeBytes;
    this.interleaved = spec.interleaved ?? true;
    this.bottomUp = spec.bottomUp;
    this.subDeviceManagerId = spec.subDeviceId === undefined ? undefined : activeManagerOf(device);
    this.ownsDataValue = ownsData;
  }

  /**
   * Create and allocate a buffer (tt-metal's DeviceBuffer::create). Throws InvalidSizeError,
   * InvalidPageSizeError, InvalidMemoryTypeError, DeviceClosedError, SubDeviceManagerMismatchError or the
   * allocator's OutOfMemoryError; nothing is allocated or reported when it throws.
   */
  static create(device: BufferDevice, spec: BufferSpec, options: BufferOptions = {}): DeviceBuffer {
    const buffer = new DeviceBuffer(device, spec, true, options.tracker ?? defaultGraphTracker);
    if (buffer.sizeBytes === 0) {
      // tt-metal: a zero-size buffer is "allocated" without asking the allocator.
      buffer.statusValue = ALLOCATED;
      return buffer;
    }
    buffer.allocateImpl();
    return buffer;
  }

  /**
   * A pre-allocated, non-owning buffer at `address` (tt-metal's DeviceBuffer::create with an address, used for
   * views of memory another buffer owns). It is never reported and never frees memory.
   */
  static atAddress(
    device: BufferDevice,
    address: number,
    spec: BufferSpec,
    options: BufferOptions = {},
  ): DeviceBuffer {
    const buffer = new DeviceBuffer(device, spec, false, options.tracker ?? defaultGraphTracker);
    buffer.addressValue = address;
    buffer.statusValue = ALLOCATED;
    return buffer;
  }

  /**
   * Take over a buffer another thread allocated on the same shared device (see `transfer`). The ALLOC was
   * reported where it happened; this buffer reports the FREE when it deallocates.
   */
  static adopt(device: BufferDevice, transfer: BufferTransfer, options: BufferOptions = {}): DeviceBuffer {
    const buffer = new DeviceBuffer(
      device,
      {
        memoryType: transfer.memoryType,
        sizeBytes: transfer.sizeBytes,
        pageSizeBytes: transfer.pageSizeBytes,
      },
      true,
      options.tracker ?? defaultGraphTracker,
    );
    (buffer as { subDeviceManagerId: number | undefined }).subDeviceManagerId = transfer.subDeviceManagerId;
    buffer.addressValue = transfer.address;
    buffer.allocationIdValue = transfer.allocationId;
    buffer.sizePerBankValue = transfer.sizePerBankBytes;
    buffer.statusValue = ALLOCATED;
    return buffer;
  }

  get status(): BufferStatus {
    return this.statusValue;
  }

  isAllocated(): boolean {
    return this.statusValue === ALLOCATED;
  }

  /** Per-bank offset, bytes. 0 for a captured or zero-size buffer. Throws while allocation is only requested. */
  get address(): number {
    if (this.statusValue === REQUESTED) {
      throw new BufferNotAllocatedError(this.deviceId, "query the address of");
    }
    return this.addressValue;
  }

  /** Identity of the allocation; undefined when the allocator was not involved (captured, zero-size, view). */
  get allocationId(): number | undefined {
    return this.allocationIdValue;
  }

  /** Bytes taken in each bank; 0 when the allocator was not involved. */
  get sizePerBankBytes(): number {
    return this.sizePerBankValue;
  }

  get ownsData(): boolean {
    return this.ownsDataValue;
  }

  /** True when a capture hook took the allocation (address 0, no memory). */
  get hooked(): boolean {
    return this.hookedValue;
  }

  /**
   * Release the memory and report the FREE (tt-metal's DeviceBuffer::deallocate). A no-op for a non-owning
   * buffer and for a buffer that is not allocated (double deallocate). Throws
   * SubDeviceManagerMismatchError, or HookedDeallocationError from the tracker, before anything changes.
   */
  deallocate(): void {
    if (!this.ownsDataValue) return;
    if (this.statusValue !== ALLOCATED) return;
    if (this.device.isInitialized() && this.sizeBytes !== 0) {
      const captured = this.tracker.hookDeallocate(this);
      if (!captured && !this.hookedValue) {
        this.validateSubDeviceManager("deallocate");
        this.introduceDevice();
        // The lock entered and left here rather than through withLifecycleLock: no closure per step.
        const lock = this.tracker.lifecycleLock(this.deviceId);
        lock.enter();
        try {
          const grant = this.device.allocator.deallocateInto(this.memoryType, this.addressValue, GRANT);
          this.statusValue = DEALLOCATED;
          this.report(OP_FREE, grant.seq, grant.allocationId, grant.sizeBytes);
        } finally {
          lock.leave();
        }
      }
    }
    this.statusValue = DEALLOCATED;
  }

  /**
   * Mark the buffer deallocated without touching the allocator or reporting anything (tt-metal's
   * mark_as_deallocated): for memory that was released some other way, in bulk when the device closed or
   * by the buffer that owns it.
   */
  markAsDeallocated(): void {
    this.statusValue = DEALLOCATED;
  }

  /**
   * Hand this allocation to another thread, which takes it over with `DeviceBuffer.adopt` and frees it there.
   * This buffer becomes a non-owning view, so deallocating it here is a no-op.
   */
  transfer(): BufferTransfer {
    if (this.statusValue !== ALLOCATED || !this.ownsDataValue || this.allocationIdValue === undefined) {
      throw new BufferNotAllocatedError(this.deviceId, "transfer");
    }
    this.ownsDataValue = false;
    return {
      deviceId: this.deviceId,
      memoryType: this.memoryType,
      sizeBytes: this.sizeBytes,
      pageSizeBytes: this.pageSizeBytes,
      address: this.addressValue,
      allocationId: this.allocationIdValue,
      sizePerBankBytes: this.sizePerBankValue,
      subDeviceManagerId: this.subDeviceManagerId,
    };
  }

  private allocateImpl(): void {
    if (this.tracker.hookAllocate(this)) {
      this.addressValue = 0;
      this.hookedValue = true;
      this.statusValue = ALLOCATED;
      return;
    }
    this.validateSubDeviceManager("allocate");
    if (!this.device.isInitialized()) throw new DeviceClosedError(this.deviceId, "allocate a buffer");
    this.introduceDevice();
    // The lock is taken before the allocator chooses the address and released after the ALLOC is tracked
    // (see LifecycleLock for what it does and does not order).
    // One object shape for every request (undefined bottomUp means the type's default).
    const request: AllocationRequest = {
      memoryType: this.memoryType,
      sizeBytes: this.sizeBytes,
      pageSizeBytes: this.pageSizeBytes,
      interleaved: this.interleaved,
      bottomUp: this.bottomUp,
    };
    const lock = this.tracker.lifecycleLock(this.deviceId);
    lock.enter();
    try {
      const grant = this.device.allocator.allocateInto(request, GRANT);
      this.addressValue = grant.address;
      this.allocationIdValue = grant.allocationId;
      this.sizePerBankValue = grant.sizePerBankBytes;
      // As in tt-metal, the status is ALLOCATED before the tracker hears about it.
      this.statusValue = ALLOCATED;
      this.report(OP_ALLOC, grant.seq, grant.allocationId, grant.sizeBytes);
    } finally {
      lock.leave();
    }
  }

  /**
   * The first time a tracker meets a device it learns where that device's sequence stands: a device other
   * realms share is sparse here; a local one continues after the allocator's current number.
   */
  private introduceDevice(): void {
    if (this.tracker.knowsDevice(this.deviceId)) return;
    this.tracker.observeDevice(
      this.deviceId,
      this.device.shared ? { kind: "sparse" } : { kind: "dense", nextSeq: this.device.allocator.lastSeq + 1 },
    );
  }

  private validateSubDeviceManager(operation: string): void {
    if (this.subDeviceManagerId === undefined) return;
    const active = activeManagerOf(this.device);
    if (active !== this.subDeviceManagerId) {
      throw new SubDeviceManagerMismatchError(this.deviceId, operation, this.subDeviceManagerId, active);
    }
  }

  /** Tell the tracker about a change of this buffer, as fields (no change object on the common path). */
  private report(op: ChangeOp, seq: number, allocationId: number, sizeBytes: number): void {
    this.tracker.trackFields(
      op,
      this.deviceId,
      this.memoryType,
      seq,
      allocationId,
      this.addressValue,
      sizeBytes,
      this.device.clock(),
    );
  }
}

function activeManagerOf(device: BufferDevice): number {
  return device.activeSubDeviceManagerId ?? 0;
}

function validateSpec(memoryType: number, sizeBytes: number, pageSizeBytes: number): void {
  // MEMORY_TYPES are 0 .. MEMORY_TYPE_LIMIT - 1.
  if (!(memoryType >>> 0 === memoryType && memoryType < MEMORY_TYPE_LIMIT)) {
    throw new InvalidMemoryTypeError(memoryType);
  }
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0) throw new InvalidSizeError(sizeBytes);
  if (sizeBytes === 0) return;
  if (!Number.isSafeInteger(pageSizeBytes) || pageSizeBytes <= 0 || sizeBytes % pageSizeBytes !== 0) {
    throw new InvalidPageSizeError(sizeBytes, pageSizeBytes);
  }
}
