import { NO_SLOT, SlotIndex } from "../slot-index.js";

/** Entries the columns start with; they double when full (a process's live keys, all spaces and devices). */
const INITIAL_ENTRIES = 16;

/**
 * The live keys of one legacy process: (key space, device, buffer id) → allocation id, reference count,
 * size and memory type. On the legacy apply path, every ALLOC and FREE frame looks a key up here.
 *
 * Why not a Map of objects: a firehose of ALLOC+FREE pairs made the server allocate about 100 bytes of
 * garbage per frame (a key object per ALLOC, and V8's Map tables reallocated as they grow and shrink
 * around a handful of live keys), ~8 times what it allocates now (docs/PERFORMANCE.md). Here an entry is
 * an index into typed-array columns, found through one SlotIndex per (key space, device) keyed by buffer
 * id (SlotIndex allocates nothing per operation and never shrinks below its minimum), and freed entries
 * are chained for reuse: nothing is allocated per frame once the columns have grown.
 */
export class LegacyLiveKeys {
  /** Per key space: deviceId → buffer id → entry. */
  private readonly indexes: Map<number, SlotIndex>[] = [new Map(), new Map(), new Map()];
  private allocationIdOf = new Float64Array(INITIAL_ENTRIES);
  private sizeOf = new Float64Array(INITIAL_ENTRIES);
  private refCountOf = new Float64Array(INITIAL_ENTRIES);
  private typeOf = new Uint8Array(INITIAL_ENTRIES);
  /** Free entry: the next free entry, or NO_SLOT. */
  private nextFree = new Int32Array(INITIAL_ENTRIES);
  private freeHead = NO_SLOT;
  /** Entries [0, highWater) have been handed out at least once. */
  private highWater = 0;
  private count = 0;

  /** Live keys over every key space and device. */
  get size(): number {
    return this.count;
  }

  /** The entry of a live key, or NO_SLOT. */
  entryOf(space: number, deviceId: number, bufferId: number): number {
    const index = this.indexes[space]!.get(deviceId);
    return index === undefined ? NO_SLOT : index.get(bufferId);
  }

  /** Makes a key live with one reference; the caller checked that it is not. */
  insert(
    space: number,
    deviceId: number,
    bufferId: number,
    allocationId: number,
    sizeBytes: number,
    memoryType: number,
  ): void {
    const byDevice = this.indexes[space]!;
    let index = byDevice.get(deviceId);
    if (index === undefined) {
      index = new SlotIndex();
      byDevice.set(deviceId, index);
    }
    const entry = this.takeEntry();
    this.allocationIdOf[entry] = allocationId;
    this.sizeOf[entry] = sizeBytes;
    this.refCountOf[entry] = 1;
    this.typeOf[entry] = memoryType;
    index.set(bufferId, entry);
    this.count++;
  }

  /** Forgets a live key whose entry is `entry`. */
  delete(space: number, deviceId: number, bufferId: number, entry: number): void {
    this.indexes[space]!.get(deviceId)?.delete(bufferId);
    this.nextFree[entry] = this.freeHead;
    this.freeHead = entry;
    this.count--;
  }

  allocationIdAt(entry: number): number {
    return this.allocationIdOf[entry]!;
  }

  sizeBytesAt(entry: number): number {
    return this.sizeOf[entry]!;
  }

  memoryTypeAt(entry: number): number {
    return this.typeOf[entry]!;
  }

  refCountAt(entry: number): number {
    return this.refCountOf[entry]!;
  }

  /** Adds a reference; returns the new count. */
  addReference(entry: number): number {
    return ++this.refCountOf[entry]!;
  }

  /** Drops a reference; returns the count left (the caller deletes the key at 0). */
  dropReference(entry: number): number {
    return --this.refCountOf[entry]!;
  }

  /** Forgets every key and gives the columns back. */
  clear(): void {
    for (const byDevice of this.indexes) byDevice.clear();
    this.allocationIdOf = new Float64Array(INITIAL_ENTRIES);
    this.sizeOf = new Float64Array(INITIAL_ENTRIES);
    this.refCountOf = new Float64Array(INITIAL_ENTRIES);
    this.typeOf = new Uint8Array(INITIAL_ENTRIES);
    this.nextFree = new Int32Array(INITIAL_ENTRIES);
    this.freeHead = NO_SLOT;
    this.highWater = 0;
    this.count = 0;
  }

  private takeEntry(): number {
    const free = this.freeHead;
    if (free !== NO_SLOT) {
      this.freeHead = this.nextFree[free]!;
      return free;
    }
    if (this.highWater === this.typeOf.length) this.grow();
    return this.highWater++;
  }

  private grow(): void {
    const capacity = this.typeOf.length * 2;
    this.allocationIdOf = grown(this.allocationIdOf, new Float64Array(capacity));
    this.sizeOf = grown(this.sizeOf, new Float64Array(capacity));
    this.refCountOf = grown(this.refCountOf, new Float64Array(capacity));
    this.typeOf = grown(this.typeOf, new Uint8Array(capacity));
    this.nextFree = grown(this.nextFree, new Int32Array(capacity));
  }
}

function grown<T extends Float64Array | Uint8Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
