/**
 * One allocator per device, covering every memory type, with one critical section. Every state change
 * takes the device's next sequence number inside that critical section ("ordering at the source"), and
 * every allocation gets an allocation id that is stored in its block, so a snapshot can list the live set
 * exactly as of a sequence number.
 *
 * All state (free lists, counters, statistics) lives in one buffer (see `allocatorStateBytes`): a plain
 * ArrayBuffer for a single-thread device, a SharedArrayBuffer for a device shared by worker threads.
 */
import {
  BlockTableFullError,
  DeviceClosedError,
  InvalidMemoryTypeError,
  InvalidPageSizeError,
  InvalidSizeError,
  OutOfMemoryError,
  ReentrantCallError,
  UnknownAllocationError,
} from "../errors.js";
import type { MemoryLayout, MemoryRegion } from "../layout.js";
import { MEMORY_TYPES, type MemoryType } from "../memory-type.js";
import { FreeList, NONE, SlotState, TABLE_FULL } from "./free-list.js";
import type { CriticalSection } from "./lock.js";
import {
  type Allocation,
  type AllocationRequest,
  type AllocatorSnapshot,
  type AllocatorStatistics,
  type BlockView,
  ChangeRecord,
  type Deallocation,
  FitPolicy,
  type InCriticalSection,
  type SnapshotAllocation,
} from "./types.js";

// Control words (Int32 at byte 0).
export const CONTROL_LOCK = 0;
const CONTROL_CLOSED = 1;
const CONTROL_MAGIC = 2;
const CONTROL_WORDS = 4;
const MAGIC = 0x41574443; // "AWDC"

// A block's tag byte: its memory type, plus a bit for "all pages in one bank".
const TAG_ONE_BANK = 0x80;
const TAG_TYPE_MASK = 0x7f;

// Counters (Float64, exact to 2^53).
const TYPE_COUNT = MEMORY_TYPES.length;
const C_SEQ = 0;
const C_NEXT_ID = 1;
const C_ALLOCATED = 2; // + memory type: reserved bytes per bank
const C_LIVE = C_ALLOCATED + TYPE_COUNT; // + memory type: live allocations
const C_REQUESTED = C_LIVE + TYPE_COUNT; // + memory type: requested bytes
const COUNTERS = C_REQUESTED + TYPE_COUNT;

const COUNTERS_OFFSET = CONTROL_WORDS * 4;
// Free lists start on a 64-byte boundary (their typed arrays need 8-byte alignment; a cache line is 64).
const REGIONS_OFFSET = Math.ceil((COUNTERS_OFFSET + COUNTERS * 8) / 64) * 64;

/** Bytes of state buffer an allocator for `layout` with `capacity` blocks per region needs. */
export function allocatorStateBytes(layout: MemoryLayout, capacity: number): number {
  return REGIONS_OFFSET + layout.regions.length * FreeList.byteLength(capacity);
}

export interface AllocatorOptions {
  deviceId: number;
  layout: MemoryLayout;
  /** Buffer of at least allocatorStateBytes(layout, capacity) bytes. */
  buffer: ArrayBufferLike;
  /** Block slots per region (free and allocated blocks together). */
  capacity: number;
  policy: FitPolicy;
  lock: CriticalSection;
  /** true: initialise the buffer (the creator); false: attach to an initialised one. */
  format: boolean;
}

export class Allocator {
  readonly deviceId: number;
  readonly layout: MemoryLayout;
  readonly policy: FitPolicy;
  /** Block slots per region. */
  readonly capacity: number;
  private readonly control: Int32Array;
  private readonly counters: Float64Array;
  private readonly lists: FreeList[];
  private readonly lock: CriticalSection;
  private readonly bestFit: boolean;
  // Per memory type, resolved once so the hot path does plain array reads.
  private readonly listOfType: FreeList[];
  private readonly regionOfType: MemoryRegion[];
  /** Per memory type: the last page size seen and its size aligned to the region (see bankBytesOf). */
  private readonly pageCache: Float64Array;
  /** Per memory type: the region's minimum allocation, aligned (the least any allocation reserves). */
  private readonly leastOfType: Float64Array;
  /** True while this thread runs an inCriticalSection callback (the lock is held: re-entry would deadlock). */
  private inCallback = false;

  constructor(options: AllocatorOptions) {
    const { layout, buffer, capacity } = options;
    this.deviceId = options.deviceId;
    this.layout = layout;
    this.policy = options.policy;
    this.capacity = capacity;
    this.bestFit = options.policy === FitPolicy.BEST_FIT;
    this.lock = options.lock;
    this.control = new Int32Array(buffer, 0, CONTROL_WORDS);
    this.counters = new Float64Array(buffer, COUNTERS_OFFSET, COUNTERS);
    const listBytes = FreeList.byteLength(capacity);
    this.lists = layout.regions.map(
      (region, i) =>
        new FreeList(
          buffer,
          REGIONS_OFFSET + i * listBytes,
          capacity,
          region.sizePerBankBytes,
          options.policy,
          region.alignmentBytes,
        ),
    );
    this.listOfType = layout.regionOfType.map((r) => this.lists[r]!);
    this.regionOfType = layout.regionOfType.map((r) => layout.regions[r]!);
    // Page size 0 is never valid, so no request hits the empty cache.
    this.pageCache = new Float64Array(2 * this.regionOfType.length);
    this.leastOfType = Float64Array.from(
      this.regionOfType,
      (region) => Math.ceil(region.minAllocationBytes / region.alignmentBytes) * region.alignmentBytes,
    );
    if (options.format) {
      for (const list of this.lists) list.format();
      this.counters.fill(0);
      this.counters[C_NEXT_ID] = 1;
      Atomics.store(this.control, CONTROL_CLOSED, 0);
      Atomics.store(this.control, CONTROL_MAGIC, MAGIC);
    }
  }

  /** True when `buffer` holds an initialised allocator state (checked by Device.attach). */
  static isFormatted(buffer: ArrayBufferLike): boolean {
    return (
      buffer.byteLength >= CONTROL_WORDS * 4 &&
      new Int32Array(buffer, 0, CONTROL_WORDS)[CONTROL_MAGIC] === MAGIC
    );
  }

  /** Sequence number of the latest change (0 before any). Read without the lock: informational. */
  get lastSeq(): number {
    return this.counters[C_SEQ]!;
  }

  get closed(): boolean {
    return Atomics.load(this.control, CONTROL_CLOSED) !== 0;
  }

  /** Marks the device closed (on every thread sharing it): later changes throw DeviceClosedError. */
  close(): void {
    if (this.inCallback) throw new ReentrantCallError(this.deviceId, "close the device");
    this.lock.enter();
    Atomics.store(this.control, CONTROL_CLOSED, 1);
    this.lock.leave();
  }

  /**
   * Allocates a buffer: each bank reserves ceil(pages / banks) x aligned page size (at least the minimum
   * allocation, aligned) at the same offset. Throws InvalidMemoryTypeError, InvalidSizeError,
   * InvalidPageSizeError, OutOfMemoryError, BlockTableFullError or DeviceClosedError; on any throw before
   * `inCriticalSection` nothing changed and no sequence number was taken.
   */
  allocate(request: AllocationRequest, inCriticalSection?: InCriticalSection): Allocation {
    return this.allocateInto(request, new ChangeRecord(), inCriticalSection);
  }

  /**
   * allocate() that fills the caller's record instead of creating one (no object per call: the record
   * is the one `inCriticalSection` sees, and it is returned). On a throw the record is unchanged.
   */
  allocateInto(
    request: AllocationRequest,
    into: ChangeRecord,
    inCriticalSection?: InCriticalSection,
  ): ChangeRecord {
    if (this.inCallback) throw new ReentrantCallError(this.deviceId, "allocate");
    const memoryType = request.memoryType;
    const list = this.listOfType[memoryType];
    if (list === undefined) throw new InvalidMemoryTypeError(memoryType);
    const region = this.regionOfType[memoryType]!;
    const sizeBytes = request.sizeBytes;
    const pageSizeBytes = request.pageSizeBytes;
    if (!(Number.isSafeInteger(sizeBytes) && sizeBytes > 0)) throw new InvalidSizeError(sizeBytes);
    // For safe integers the quotient is an integer exactly when the page size divides the size (its
    // rounding error is below 1 / pageSizeBytes): one division instead of a remainder and a division.
    const pages = sizeBytes / pageSizeBytes;
    if (!(Number.isSafeInteger(pageSizeBytes) && pageSizeBytes > 0 && Number.isInteger(pages))) {
      throw new InvalidPageSizeError(sizeBytes, pageSizeBytes);
    }
    const bankCount = request.interleaved === false ? 1 : region.bankCount;
    const sizePerBankBytes = this.bankBytesOf(memoryType, pages, pageSizeBytes, bankCount);
    const bottomUp = request.bottomUp ?? this.layout.bottomUpByDefault[memoryType]!;

    const counters = this.counters;
    this.lock.enter();
    try {
      if (this.control[CONTROL_CLOSED] !== 0) throw new DeviceClosedError(this.deviceId, "allocate");
      const allocationId = counters[C_NEXT_ID]!;
      const tag = bankCount === 1 && region.bankCount !== 1 ? memoryType | TAG_ONE_BANK : memoryType;
      // Each policy's own method (see free-list.ts: first fit's inlining budget stays as it was).
      const slot = this.bestFit
        ? list.allocateBestFit(sizePerBankBytes, bottomUp, tag, allocationId, sizeBytes)
        : list.allocateFirstFit(sizePerBankBytes, bottomUp, tag, allocationId, sizeBytes);
      if (slot < 0) {
        if (slot === TABLE_FULL) throw new BlockTableFullError(memoryType, this.capacity);
        throw new OutOfMemoryError({
          memoryType,
          requestedBytes: sizeBytes,
          sizePerBankBytes,
          bankCount,
          largestFreeBlockBytes: list.largestFreeBytes,
          freeBytesPerBank: list.freeBytes,
        });
      }
      const seq = counters[C_SEQ]! + 1;
      counters[C_SEQ] = seq;
      counters[C_NEXT_ID] = allocationId + 1;
      counters[C_ALLOCATED + memoryType]! += sizePerBankBytes;
      counters[C_LIVE + memoryType]!++;
      counters[C_REQUESTED + memoryType]! += sizeBytes;
      // Math.trunc (an identity on these integers) hands V8 a small integer instead of a boxed double read
      // from a Float64Array, so the record's fields stay unboxed: no extra heap number per field.
      into.allocationId = Math.trunc(allocationId);
      into.address = Math.trunc(region.baseAddressBytes + list.offsetOf(slot));
      into.seq = Math.trunc(seq);
      into.sizeBytes = sizeBytes;
      into.sizePerBankBytes = sizePerBankBytes;
      into.bankCount = bankCount;
      into.memoryType = memoryType;
      if (inCriticalSection !== undefined) this.runCallback(inCriticalSection, into);
      return into;
    } finally {
      this.lock.leave();
    }
  }

  /**
   * Frees the live allocation of `memoryType` at `address` and takes the change's sequence number before
   * the memory can be handed out again. Throws UnknownAllocationError (nothing changed) if there is none.
   */
  deallocate(memoryType: MemoryType, address: number, inCriticalSection?: InCriticalSection): Deallocation {
    return this.deallocateInto(memoryType, address, new ChangeRecord(), inCriticalSection);
  }

  /** deallocate() that fills the caller's record instead of creating one (see allocateInto). */
  deallocateInto(
    memoryType: MemoryType,
    address: number,
    into: ChangeRecord,
    inCriticalSection?: InCriticalSection,
  ): ChangeRecord {
    if (this.inCallback) throw new ReentrantCallError(this.deviceId, "deallocate");
    const list = this.listOfType[memoryType];
    if (list === undefined) throw new InvalidMemoryTypeError(memoryType);
    const region = this.regionOfType[memoryType]!;
    const counters = this.counters;
    this.lock.enter();
    try {
      if (this.control[CONTROL_CLOSED] !== 0) throw new DeviceClosedError(this.deviceId, "deallocate");
      const slot = list.find(address - region.baseAddressBytes);
      // `slot < 0` is NONE, tested without reading the imported binding (see NIL in free-tree.ts).
      const tag = slot < 0 ? -1 : list.tagOf(slot);
      if ((tag & TAG_TYPE_MASK) !== memoryType) {
        throw new UnknownAllocationError(memoryType, address);
      }
      const allocationId = list.allocationIdOf(slot);
      const sizeBytes = list.requestedBytesOf(slot);
      const sizePerBankBytes = list.sizeOf(slot);
      if (this.bestFit) list.releaseBestFit(slot);
      else list.releaseFirstFit(slot);
      const seq = counters[C_SEQ]! + 1;
      counters[C_SEQ] = seq;
      counters[C_ALLOCATED + memoryType]! -= sizePerBankBytes;
      counters[C_LIVE + memoryType]!--;
      counters[C_REQUESTED + memoryType]! -= sizeBytes;
      const bankCount = (tag & TAG_ONE_BANK) !== 0 ? 1 : region.bankCount;
      // Math.trunc: see allocate(); `address` matched a block, so it is an integer.
      into.allocationId = Math.trunc(allocationId);
      into.address = Math.trunc(address);
      into.seq = Math.trunc(seq);
      into.sizeBytes = Math.trunc(sizeBytes);
      into.sizePerBankBytes = Math.trunc(sizePerBankBytes);
      into.bankCount = bankCount;
      into.memoryType = memoryType;
      if (inCriticalSection !== undefined) this.runCallback(inCriticalSection, into);
      return into;
    } finally {
      this.lock.leave();
    }
  }

  /**
   * `bankBytes` (layout.ts) for a request of `pages` pages, with the page size's aligned size remembered
   * per memory type: a buffer's pages are mostly one size, so the usual cost is one division.
   * The allocator tests hold the two equal.
   */
  private bankBytesOf(memoryType: number, pages: number, pageSizeBytes: number, bankCount: number): number {
    const cache = this.pageCache;
    const at = memoryType * 2;
    let alignedPageBytes = cache[at + 1]!;
    if (cache[at] !== pageSizeBytes) {
      const alignment = this.regionOfType[memoryType]!.alignmentBytes;
      alignedPageBytes = Math.ceil(pageSizeBytes / alignment) * alignment;
      cache[at] = pageSizeBytes;
      cache[at + 1] = alignedPageBytes;
    }
    const perBank = Math.ceil(pages / bankCount) * alignedPageBytes;
    const least = this.leastOfType[memoryType]!;
    return Math.max(perBank, least);
  }

  private runCallback(callback: InCriticalSection, change: Allocation): void {
    this.inCallback = true;
    try {
      callback(change);
    } finally {
      this.inCallback = false;
    }
  }

  /** The live set and the sequence number it reflects, taken under the lock. Ordered by region, address. */
  snapshot(): AllocatorSnapshot {
    if (this.inCallback) throw new ReentrantCallError(this.deviceId, "take a snapshot");
    this.lock.enter();
    try {
      const allocations: SnapshotAllocation[] = [];
      this.layout.regions.forEach((region, r) => {
        const list = this.lists[r]!;
        for (let s = list.firstBlock; s !== NONE; s = list.nextOf(s)) {
          if (list.stateOf(s) !== SlotState.ALLOCATED) continue;
          allocations.push({
            allocationId: list.allocationIdOf(s),
            memoryType: (list.tagOf(s) & TAG_TYPE_MASK) as MemoryType,
            address: region.baseAddressBytes + list.offsetOf(s),
            sizeBytes: list.requestedBytesOf(s),
            sizePerBankBytes: list.sizeOf(s),
          });
        }
      });
      return { seq: this.counters[C_SEQ]!, allocations };
    } finally {
      this.lock.leave();
    }
  }

  statistics(memoryType: MemoryType): AllocatorStatistics {
    const list = this.listOfType[memoryType];
    if (list === undefined) throw new InvalidMemoryTypeError(memoryType);
    const region = this.regionOfType[memoryType]!;
    const banks = region.bankCount;
    if (this.inCallback) throw new ReentrantCallError(this.deviceId, "read statistics");
    this.lock.enter();
    try {
      const c = this.counters;
      return {
        memoryType,
        bankCount: banks,
        bankSizeBytes: region.sizePerBankBytes,
        totalBytes: region.sizePerBankBytes * banks,
        allocatedBytes: c[C_ALLOCATED + memoryType]! * banks,
        freeBytes: list.freeBytes * banks,
        largestFreeBlockBytes: list.largestFreeBytes,
        liveBlocks: c[C_LIVE + memoryType]!,
        freeBlocks: list.freeBlocks,
        requestedBytes: c[C_REQUESTED + memoryType]!,
      };
    } finally {
      this.lock.leave();
    }
  }

  /** Every block (free and allocated) of the region holding `memoryType`, in address order. */
  blocks(memoryType: MemoryType): BlockView[] {
    const list = this.listOfType[memoryType];
    if (list === undefined) throw new InvalidMemoryTypeError(memoryType);
    const base = this.regionOfType[memoryType]!.baseAddressBytes;
    if (this.inCallback) throw new ReentrantCallError(this.deviceId, "list blocks");
    this.lock.enter();
    try {
      const views: BlockView[] = [];
      for (let s = list.firstBlock; s !== NONE; s = list.nextOf(s)) {
        const address = base + list.offsetOf(s);
        const sizePerBankBytes = list.sizeOf(s);
        if (list.stateOf(s) === SlotState.FREE) {
          views.push({ address, sizePerBankBytes, free: true });
        } else {
          views.push({
            address,
            sizePerBankBytes,
            free: false,
            memoryType: (list.tagOf(s) & TAG_TYPE_MASK) as MemoryType,
            allocationId: list.allocationIdOf(s),
            sizeBytes: list.requestedBytesOf(s),
          });
        }
      }
      return views;
    } finally {
      this.lock.leave();
    }
  }
}
