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
  /** The index last looked up: frames come in runs of one key space and device. */
  private lastSpace = -1;
  private lastDeviceId = -1;
  private lastIndex: SlotIndex | undefined;

  /** Live keys over every key space and device. */
  get size(): number {
    return this.count;
  }

  /** The entry of a live key, or NO_SLOT. */
  entryOf(space: number, deviceId: number, bufferId: number): number {
    const index = this.indexOf(space, deviceId);
    return index === undefined ? NO_SLOT : index.get(bufferId);
  }

  /**
   * Makes a key live with one reference and returns NO_SLOT; when it is live already, changes nothing
   * and returns its entry. One probe of the buffer id index where entryOf + insert take two.
   */
  insertIfAbsent(
    space: number,
    deviceId: number,
    bufferId: number,
    allocationId: number,
    sizeBytes: number,
    memoryType: number,
  ): number {
    const index = this.indexOf(space, deviceId) ?? this.newIndex(space, deviceId);
    const entry = this.takeEntry();
    const known = index.insertIfAbsent(bufferId, entry);
    if (known !== NO_SLOT) {
      this.recycle(entry);
      return known;
    }
    this.fill(entry, allocationId, sizeBytes, memoryType);
    this.count++;
    return NO_SLOT;
  }

  /**
   * Drops one reference of a key; returns its entry, or NO_SLOT when the key is not live. When that was
   * the last reference (refCountAt(entry) is then 0) the key is forgotten: the entry's fields stay
   * readable until the next insert. One probe on the usual path (a key with one reference).
   */
  release(space: number, deviceId: number, bufferId: number): number {
    const index = this.indexOf(space, deviceId);
    if (index === undefined) return NO_SLOT;
    const entry = index.delete(bufferId);
    if (entry === NO_SLOT) return NO_SLOT;
    if (--this.refCountOf[entry]! > 0) {
      // Still referenced (a shared key: rare): back in the index.
      index.set(bufferId, entry);
      return entry;
    }
    this.recycle(entry);
    this.count--;
    return entry;
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
    const index = this.indexOf(space, deviceId) ?? this.newIndex(space, deviceId);
    const entry = this.takeEntry();
    this.fill(entry, allocationId, sizeBytes, memoryType);
    index.set(bufferId, entry);
    this.count++;
  }

  /** Forgets a live key whose entry is `entry`. */
  delete(space: number, deviceId: number, bufferId: number, entry: number): void {
    this.indexOf(space, deviceId)?.delete(bufferId);
    this.recycle(entry);
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
    this.lastSpace = -1;
    this.lastDeviceId = -1;
    this.lastIndex = undefined;
    this.allocationIdOf = new Float64Array(INITIAL_ENTRIES);
    this.sizeOf = new Float64Array(INITIAL_ENTRIES);
    this.refCountOf = new Float64Array(INITIAL_ENTRIES);
    this.typeOf = new Uint8Array(INITIAL_ENTRIES);
    this.nextFree = new Int32Array(INITIAL_ENTRIES);
    this.freeHead = NO_SLOT;
    this.highWater = 0;
    this.count = 0;
  }

  /** The buffer id index of (space, device), or undefined; remembers the last one asked for. */
  private indexOf(space: number, deviceId: number): SlotIndex | undefined {
    if (space === this.lastSpace && deviceId === this.lastDeviceId) return this.lastIndex;
    const index = this.indexes[space]!.get(deviceId);
    // Only an index that exists is remembered: one created later must be found.
    if (index !== undefined) {
      this.lastSpace = space;
      this.lastDeviceId = deviceId;
      this.lastIndex = index;
    }
    return index;
  }

  private newIndex(space: number, deviceId: number): SlotIndex {
    const index = new SlotIndex();
    this.indexes[space]!.set(deviceId, index);
    this.lastSpace = space;
    this.lastDeviceId = deviceId;
    this.lastIndex = index;
    return index;
  }

  private fill(entry: number, allocationId: number, sizeBytes: number, memoryType: number): void {
    this.allocationIdOf[entry] = allocationId;
    this.sizeOf[entry] = sizeBytes;
    this.refCountOf[entry] = 1;
    this.typeOf[entry] = memoryType;
  }

  private recycle(entry: number): void {
    this.nextFree[entry] = this.freeHead;
    this.freeHead = entry;
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
