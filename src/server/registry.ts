import { MEMORY_TYPE_NAMES } from "../protocol/memory-type.js";
import type { AnomalyLog } from "./anomaly-log.js";
import { DeviceTotals, Ledger, SessionAccount } from "./ledger.js";
import { LiveLimit } from "./live-limit.js";
import { DETACHED_FIGURE, type FigureSource } from "./series/usage-series.js";
import { addressHash, idHash } from "./slot-chains.js";
import {
  DEFAULT_CHANGE_LOG_SLOTS,
  grown,
  type RegistryOptions,
  SlotChangeLog,
  type SlotColumns,
} from "./slot-columns.js";
import { NO_SLOT } from "./slot-index.js";

export type { RegistryOptions, SlotColumns };
export { DeviceTotals, Ledger, SessionAccount, SlotChangeLog };

/**
 * The live state of every device: the hot path of the server. Every applied ALLOC/FREE goes through
 * `allocate` / `free`, which are plain loops over typed arrays and chained hash tables (SlotChains),
 * with no allocation per event once the arrays have grown.
 *
 * Layout (why): one JS object per live allocation costs ~100+ bytes of headers and pointers and stresses
 * the GC at a million live allocations. Instead a live allocation is a *slot* index into parallel typed
 * arrays (struct of arrays, 45 bytes per slot). Its ledger's two indexes (by id, by type and address) are
 * chained hash tables (SlotChains) whose links are two of those columns (`idNext`, `addressNext`), so
 * an index costs a 4-byte link per slot plus 4-byte heads (at most two per live allocation for ids, one
 * for addresses); an insert is a push onto a chain and a delete an unlink, with no probing or shifting.
 * Freed slots are chained into a free list through `idNext`, so no extra array is needed for it.
 *
 * Totals are maintained incrementally per ledger (session × device × type), per device (× type) and
 * per session, so the summary never walks allocations (docs/DESIGN.md invariant 6). Every change of a
 * device's or a ledger's total is also recorded in its UsageFigure (1-s min/max/last buckets), so that a
 * burst inside a second shows even when nothing is in use when the second ends.
 *
 * Size (why ~515 lines in one file): `allocate`, `free`, the slot free list and column growth all write
 * the same private columns on the hot path; the read-only pieces already live beside it (`SlotColumns`,
 * `SlotChangeLog` and column growth in slot-columns.ts, the chains in slot-chains.ts, the bookkeeping
 * objects in ledger.ts, the live-allocation limits' cold side in live-limit.ts).
 */

const INITIAL_SLOTS = 1024;

/**
 * Largest total of bytes kept (per ledger, device × type): float64 sums whole numbers exactly up to
 * 2^53 − 1. Past it an ALLOC is refused (TOTAL_OVERFLOW) rather than make every later total inexact.
 */
export const MAX_TOTAL_BYTES = Number.MAX_SAFE_INTEGER;

export class Registry {
  private capacity = INITIAL_SLOTS;
  private allocationIdOf = new Float64Array(INITIAL_SLOTS);
  private addressOf = new Float64Array(INITIAL_SLOTS);
  private sizeOf = new Float64Array(INITIAL_SLOTS);
  /** Whole ms, modulo 2^32 (see allocatedAtMsAt). */
  private allocatedAtMsOf = new Uint32Array(INITIAL_SLOTS);
  private typeOf = new Uint8Array(INITIAL_SLOTS);
  /** Live slot: its ledger's serial (≥ 1). Free slot: 0. Lets a walk in slot order tell owners apart. */
  private ledgerOf = new Int32Array(INITIAL_SLOTS);
  /** The allocation's context id in its session's ContextTable (0 = none; protocol version 3). */
  private contextOf = new Uint32Array(INITIAL_SLOTS);
  /** Live slot: next slot in its ledger's `byId` chain, or NO_SLOT. Free slot: next free slot. */
  private idNext = new Int32Array(INITIAL_SLOTS);
  /** Live slot: next slot in its ledger's `byAddress` chain, or NO_SLOT. */
  private addressNext = new Int32Array(INITIAL_SLOTS);
  /** The latest time passed to `allocate` (ms), the reference that `allocatedAtMsAt` reads back from. */
  private latestMs = 0;
  private freeHead = NO_SLOT;
  /** Slots [0, highWater) have been handed out at least once. */
  private highWater = 0;
  private live = 0;
  private applied = 0;
  private readonly devicesById = new Map<number, DeviceTotals>();
  private readonly accounts = new Set<SessionAccount>();
  /** Serials of released ledgers, reused first; `nextSerial` is one past the highest handed out. */
  private readonly freeSerials: number[] = [];
  private nextSerial = 1;
  /** A slot's key hashes, for the indexes' resizes (made once: no closure per event). */
  private readonly idHashOf = (slot: number): number => idHash(this.allocationIdOf[slot]);
  private readonly addressHashOf = (slot: number): number =>
    addressHash(this.addressOf[slot], this.typeOf[slot]);
  /** Slots allocated or released, newest last: what the memory map brings up to date between maps. */
  readonly changes: SlotChangeLog;
  /** The live-allocation limits' counters and marks (the hot path compares with the two below). */
  readonly limit: LiveLimit;
  /**
   * Live allocations this registry may hold before asking LiveLimit for more: the server-wide limit, or
   * with ingest shards what this shard has reserved of it (shards/live-pool.ts).
   */
  private liveQuota: number;
  private readonly maxLivePerSession: number;

  /** `series`: where totals are recorded over time; without it nothing is (registry-only uses). */
  constructor(
    private readonly anomalies: AnomalyLog,
    private readonly series?: FigureSource,
    options: RegistryOptions = {},
  ) {
    this.changes = new SlotChangeLog(options.changeLogSlots ?? DEFAULT_CHANGE_LOG_SLOTS);
    this.limit = new LiveLimit(options.limits, options.livePool);
    this.liveQuota = this.limit.firstQuota;
    this.maxLivePerSession = this.limit.maxLivePerSession;
  }

  /** Live allocations over every device and session. */
  get liveAllocations(): number {
    return this.live;
  }

  /** ALLOC and FREE events applied (anomalous ones included) since start. */
  get eventsApplied(): number {
    return this.applied;
  }

  /** Slots allocated in the typed arrays (capacity), for memory accounting in tests and benches. */
  get slotCapacity(): number {
    return this.capacity;
  }

  openAccount(sessionId: string, pid: number): SessionAccount {
    const account = new SessionAccount(sessionId, pid);
    this.accounts.add(account);
    return account;
  }

  /** The totals of `deviceId`, created on first use (a device may be named by events before a descriptor). */
  device(deviceId: number): DeviceTotals {
    let totals = this.devicesById.get(deviceId);
    if (totals === undefined) {
      totals = new DeviceTotals(deviceId, this.series?.open() ?? DETACHED_FIGURE);
      this.devicesById.set(deviceId, totals);
    }
    return totals;
  }

  /**
   * Forgets the totals of `deviceId` (peak included) when no live session holds a ledger there, so that
   * ids named by sessions that left do not stay listed forever; true when it did.
   */
  forgetDeviceIfUnused(deviceId: number): boolean {
    const totals = this.devicesById.get(deviceId);
    if (totals === undefined || totals.ledgers.size > 0) return false;
    this.devicesById.delete(deviceId);
    this.series?.close(totals.series);
    return true;
  }

  findDevice(deviceId: number): DeviceTotals | undefined {
    return this.devicesById.get(deviceId);
  }

  devices(): IterableIterator<DeviceTotals> {
    return this.devicesById.values();
  }

  /** The ledger of (account, deviceId), created on first use. Callers keep it to skip lookups per event. */
  ledger(account: SessionAccount, deviceId: number): Ledger {
    let ledger = account.ledgers.get(deviceId);
    if (ledger === undefined) {
      const device = this.device(deviceId);
      const serial = this.freeSerials.pop() ?? this.nextSerial++;
      const figure = this.series?.open({ account, deviceId }) ?? DETACHED_FIGURE;
      ledger = new Ledger(account, device, figure, serial);
      account.ledgers.set(deviceId, ledger);
      device.ledgers.add(ledger);
    }
    return ledger;
  }

  /**
   * Records a new live allocation. Returns false (and changes nothing) when the device's total of the
   * type would pass MAX_TOTAL_BYTES (TOTAL_OVERFLOW) or `allocationId` is already live in the ledger
   * (DUPLICATE_ALLOCATION); also, with no anomaly, when the registry or the session already holds as many
   * live allocations as its limit allows (counted as refused and the ledger marked: LiveLimit). Recorded
   * with an anomaly: an allocation of 0 bytes (ZERO_SIZE_ALLOCATION), one starting at the address of
   * another live allocation of the same ledger and type (ADDRESS_OVERLAP).
   */
  allocate(
    ledger: Ledger,
    memoryType: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    nowMs: number,
    contextId = 0,
  ): boolean {
    this.applied++;
    const account = ledger.account;
    if (this.live >= this.liveQuota || account.live >= this.maxLivePerSession) {
      if (account.live >= this.maxLivePerSession || !this.widenQuota()) {
        this.limit.refuse(ledger, 1);
        return false;
      }
    }
    const device = ledger.device;
    // A ledger's total is part of its device's: checking the device's bounds both.
    const deviceUsed = device.usedBytes[memoryType] + sizeBytes;
    if (deviceUsed > MAX_TOTAL_BYTES) {
      this.anomalies.record(
        "TOTAL_OVERFLOW",
        ledger.account,
        ledger.deviceId,
        `allocation ${allocationId} (${MEMORY_TYPE_NAMES[memoryType]}, ${sizeBytes} bytes) would take the ` +
          `device's total past ${MAX_TOTAL_BYTES} bytes (${device.usedBytes[memoryType]} in use); not recorded`,
      );
      return false;
    }
    const ids = ledger.byId;
    const idBucket = idHash(allocationId) & ids.mask;
    const allocationIds = this.allocationIdOf;
    for (let s = ids.heads[idBucket]; s !== NO_SLOT; s = this.idNext[s]) {
      if (allocationIds[s] === allocationId) {
        this.anomalies.record(
          "DUPLICATE_ALLOCATION",
          ledger.account,
          ledger.deviceId,
          `allocation ${allocationId} (${MEMORY_TYPE_NAMES[memoryType]}, ${sizeBytes} bytes at 0x${address.toString(16)}) is already live`,
        );
        return false;
      }
    }
    if (sizeBytes === 0) {
      this.anomalies.record(
        "ZERO_SIZE_ALLOCATION",
        ledger.account,
        ledger.deviceId,
        `allocation ${allocationId} (${MEMORY_TYPE_NAMES[memoryType]} at 0x${address.toString(16)}) has 0 bytes`,
      );
    }
    // The newest live slot at this (type, address) is the first one on its chain.
    const addresses = ledger.byAddress;
    const addressBucket = addressHash(address, memoryType) & addresses.mask;
    let overlapped = NO_SLOT;
    for (let s = addresses.heads[addressBucket]; s !== NO_SLOT; s = this.addressNext[s]) {
      if (this.addressOf[s] === address && this.typeOf[s] === memoryType) {
        overlapped = s;
        break;
      }
    }
    if (overlapped !== NO_SLOT) {
      this.anomalies.record(
        "ADDRESS_OVERLAP",
        ledger.account,
        ledger.deviceId,
        `allocation ${allocationId} starts at 0x${address.toString(16)} (${MEMORY_TYPE_NAMES[memoryType]}), ` +
          `where live allocation ${this.allocationIdOf[overlapped]} starts`,
      );
    }

    const slot = this.takeSlot();
    this.allocationIdOf[slot] = allocationId;
    this.addressOf[slot] = address;
    this.sizeOf[slot] = sizeBytes;
    if (nowMs > this.latestMs) this.latestMs = nowMs;
    this.allocatedAtMsOf[slot] = Math.floor(nowMs) % 4294967296;
    this.typeOf[slot] = memoryType;
    this.ledgerOf[slot] = ledger.serial;
    this.contextOf[slot] = contextId;
    this.changes.record(slot);
    ids.push(this.idNext, idBucket, slot, this.idHashOf);
    addresses.push(this.addressNext, addressBucket, slot, this.addressHashOf);

    const used = ledger.usedBytes[memoryType] + sizeBytes;
    ledger.usedBytes[memoryType] = used;
    if (used > ledger.peakBytes[memoryType]) ledger.peakBytes[memoryType] = used;
    ledger.allocations[memoryType]++;
    device.usedBytes[memoryType] = deviceUsed;
    if (deviceUsed > device.peakBytes[memoryType]) device.peakBytes[memoryType] = deviceUsed;
    device.allocations[memoryType]++;
    device.liveAllocations++;
    account.live++;
    this.live++;
    // Device first: when the series budget is short, a device's figure is the one worth keeping.
    device.series.record(memoryType, deviceUsed);
    ledger.series.record(memoryType, used);
    return true;
  }

  /**
   * Releases a live allocation. Returns false when it is not live (UNKNOWN_FREE). A memory type or size
   * that differs from the ALLOC's is a FREE_MISMATCH anomaly; the stored values are released.
   * Pass `sizeBytes` < 0 when the source does not know the size (legacy FREE frames carry 0).
   */
  free(ledger: Ledger, memoryType: number, allocationId: number, sizeBytes: number): boolean {
    this.applied++;
    const ids = ledger.byId;
    const idBucket = idHash(allocationId) & ids.mask;
    const idNext = this.idNext;
    let before = NO_SLOT;
    let slot = ids.heads[idBucket];
    while (slot !== NO_SLOT && this.allocationIdOf[slot] !== allocationId) {
      before = slot;
      slot = idNext[slot];
    }
    if (slot === NO_SLOT) {
      // Marked: the id may be one the limit refused, so not a data error.
      if (ledger.overLimit) {
        this.limit.excuseFree(ledger);
        return false;
      }
      this.anomalies.record(
        "UNKNOWN_FREE",
        ledger.account,
        ledger.deviceId,
        `free of allocation ${allocationId} (${MEMORY_TYPE_NAMES[memoryType]}), which is not live`,
      );
      return false;
    }
    ids.unlink(idNext, idBucket, slot, before);
    const storedType = this.typeOf[slot];
    const storedSize = this.sizeOf[slot];
    if (storedType !== memoryType || (sizeBytes >= 0 && storedSize !== sizeBytes)) {
      this.anomalies.record(
        "FREE_MISMATCH",
        ledger.account,
        ledger.deviceId,
        `free of allocation ${allocationId} says ${MEMORY_TYPE_NAMES[memoryType]} ${sizeBytes} bytes; ` +
          `it was allocated as ${MEMORY_TYPE_NAMES[storedType]} ${storedSize} bytes`,
      );
    }
    const addresses = ledger.byAddress;
    const addressBucket = addressHash(this.addressOf[slot], storedType) & addresses.mask;
    addresses.remove(this.addressNext, addressBucket, slot);
    this.releaseSlot(ledger, slot);
    if (this.limit.markedCount !== 0) this.limit.released(ledger.account, this.live);
    return true;
  }

  /** At the quota: asks for more (a shard's reservation); true when one more allocation fits. */
  private widenQuota(): boolean {
    this.liveQuota = this.limit.widen(this.liveQuota);
    return this.live < this.liveQuota;
  }

  /** A shard's update went out: reservations beyond what it needs soon go back to the others. */
  giveBackQuota(): void {
    this.liveQuota = this.limit.giveBack(this.liveQuota, this.live);
  }

  /**
   * `count` allocations of the ledger that were not stored for want of room (a snapshot's entries past
   * what snapshot intake could hold): counted as refused and the ledger marked, as a refused ALLOC is.
   */
  refuseUnstored(ledger: Ledger, count: number): void {
    this.applied += count;
    this.limit.refuse(ledger, count);
  }

  /** Whether `allocationId` is live in the ledger. */
  has(ledger: Ledger, allocationId: number): boolean {
    const ids = ledger.byId;
    for (let s = ids.heads[idHash(allocationId) & ids.mask]; s !== NO_SLOT; s = this.idNext[s]) {
      if (this.allocationIdOf[s] === allocationId) return true;
    }
    return false;
  }

  /**
   * Releases every live allocation of the ledger (a snapshot is about to replace them). The ledger's and
   * its device's series record nothing until `settleLedger`: the totals on the way are not real usage.
   * The ledger is no longer marked over a limit: what replaces it is the client's whole live set, and
   * anything the limits refuse of it marks it again.
   */
  clearLedger(ledger: Ledger): void {
    this.limit.unmark(ledger);
    ledger.series.pause();
    ledger.device.series.pause();
    const heads = ledger.byId.heads;
    // Both indexes are dropped whole, so slots are not unlinked from them one by one.
    for (let bucket = 0; bucket < heads.length; bucket++) {
      for (let slot = heads[bucket]; slot !== NO_SLOT; ) {
        const next = this.idNext[slot];
        this.releaseSlot(ledger, slot);
        slot = next;
      }
    }
    ledger.byId.clear();
    ledger.byAddress.clear();
  }

  /** After `clearLedger` and the allocations that replace it: records the settled totals. */
  settleLedger(ledger: Ledger): void {
    ledger.series.resume(ledger.usedBytes);
    ledger.device.series.resume(ledger.device.usedBytes);
    if (this.limit.markedCount !== 0) this.limit.released(undefined, this.live, ledger);
  }

  /**
   * Releases everything the session holds and forgets it; its ledgers stay readable but empty, and
   * their series are dropped.
   */
  releaseAccount(account: SessionAccount): void {
    if (account.released) return;
    for (const ledger of account.ledgers.values()) {
      this.clearLedger(ledger);
      ledger.device.series.resume(ledger.device.usedBytes);
      this.series?.close(ledger.series);
      ledger.device.ledgers.delete(ledger);
      // Every slot of the ledger was released above, so no slot names its serial any more.
      this.freeSerials.push(ledger.serial);
    }
    account.released = true;
    this.accounts.delete(account);
    if (this.limit.markedCount !== 0) this.limit.released(undefined, this.live);
  }

  // Fields of a live slot (from a LiveSlotCursor), so that the queries build their answers outside the
  // store. A slot means something only until the registry next changes.
  allocationIdAt(slot: number): number {
    return this.allocationIdOf[slot];
  }

  addressAt(slot: number): number {
    return this.addressOf[slot];
  }

  sizeBytesAt(slot: number): number {
    return this.sizeOf[slot];
  }

  memoryTypeAt(slot: number): number {
    return this.typeOf[slot];
  }

  /**
   * When the slot was allocated, in whole ms: kept modulo 2^32 in a Uint32 column and read back relative
   * to the latest time seen, so exact for allocations younger than 2^32 ms (~49.7 days); an older one
   * reads as if it were that much younger (its age wraps).
   */
  allocatedAtMsAt(slot: number): number {
    const latest = Math.floor(this.latestMs);
    return latest - ((((latest - this.allocatedAtMsOf[slot]) % 4294967296) + 4294967296) % 4294967296);
  }

  /** The slot's context id (its session's ContextTable resolves it; 0 = none). */
  contextIdAt(slot: number): number {
    return this.contextOf[slot];
  }

  /**
   * The slot columns in slot order, for walks that read every live allocation (the memory map): a
   * sequential read of these is many times faster than following hash indexes, whose order is random.
   * Slots [0, slotCount) have been used; `ledgerSerial[slot]` is 0 for a free slot. Valid only until the
   * registry next changes (the arrays are replaced when they grow).
   */
  slotColumns(): SlotColumns {
    return {
      slotCount: this.highWater,
      ledgerSerial: this.ledgerOf,
      memoryType: this.typeOf,
      address: this.addressOf,
      sizeBytes: this.sizeOf,
    };
  }

  /** One past the highest ledger serial handed out (serials are 1 ..< this). */
  get ledgerSerialLimit(): number {
    return this.nextSerial;
  }

  /** The next live slot of the ledger after `slot` in its `byId` chain, or NO_SLOT (LiveSlotCursor). */
  idChainNextAt(slot: number): number {
    return this.idNext[slot];
  }

  /** Subtracts the slot from the totals and puts it on the free list. */
  private releaseSlot(ledger: Ledger, slot: number): void {
    const memoryType = this.typeOf[slot];
    const sizeBytes = this.sizeOf[slot];
    ledger.usedBytes[memoryType] -= sizeBytes;
    ledger.allocations[memoryType]--;
    const device = ledger.device;
    device.usedBytes[memoryType] -= sizeBytes;
    device.allocations[memoryType]--;
    device.liveAllocations--;
    ledger.account.live--;
    this.live--;
    device.series.record(memoryType, device.usedBytes[memoryType]);
    ledger.series.record(memoryType, ledger.usedBytes[memoryType]);
    this.ledgerOf[slot] = 0;
    this.changes.record(slot);
    this.giveBackSlot(slot);
  }

  private giveBackSlot(slot: number): void {
    this.idNext[slot] = this.freeHead;
    this.freeHead = slot;
  }

  private takeSlot(): number {
    const free = this.freeHead;
    if (free !== NO_SLOT) {
      this.freeHead = this.idNext[free];
      return free;
    }
    if (this.highWater === this.capacity) this.grow();
    return this.highWater++;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    this.allocationIdOf = grown(this.allocationIdOf, capacity);
    this.addressOf = grown(this.addressOf, capacity);
    this.sizeOf = grown(this.sizeOf, capacity);
    this.allocatedAtMsOf = grown(this.allocatedAtMsOf, capacity);
    this.typeOf = grown(this.typeOf, capacity);
    this.contextOf = grown(this.contextOf, capacity);
    this.idNext = grown(this.idNext, capacity);
    this.addressNext = grown(this.addressNext, capacity);
    this.ledgerOf = grown(this.ledgerOf, capacity);
    this.capacity = capacity;
  }
}
