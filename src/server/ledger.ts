import { MEMORY_TYPE_COUNT } from "../protocol/memory-type.js";
import type { AnomalySubject } from "./anomaly-log.js";
import type { UsageFigure } from "./series/usage-series.js";
import { SlotChains } from "./slot-chains.js";

/**
 * The registry's bookkeeping objects (registry.ts): the totals of a device, a session's account and the
 * ledger of one (session, device) with its indexes. The registry owns and mutates them; queries and the
 * memory map read them.
 */

/** Totals of one device over every session, per memory type. */
export class DeviceTotals {
  /** Bytes held by live allocations, indexed by MemoryType. */
  readonly usedBytes = new Float64Array(MEMORY_TYPE_COUNT);
  /** Highest usedBytes since the server started, indexed by MemoryType. */
  readonly peakBytes = new Float64Array(MEMORY_TYPE_COUNT);
  /** Live allocation count, indexed by MemoryType. */
  readonly allocations = new Float64Array(MEMORY_TYPE_COUNT);
  liveAllocations = 0;
  /** Ledgers (one per session that touched the device); queries of one device walk only these. */
  readonly ledgers = new Set<Ledger>();
  constructor(
    readonly deviceId: number,
    /** usedBytes over time (series/usage-series.ts). */
    readonly series: UsageFigure,
  ) {}
}

/** One session's bookkeeping in the registry: its identity for anomaly reports and its ledgers. */
export class SessionAccount implements AnomalySubject {
  /** deviceId → ledger. */
  readonly ledgers = new Map<number, Ledger>();
  released = false;
  /** Live allocations of the session across its devices (the registry keeps it; the per-session limit). */
  live = 0;
  /** Ledgers of the session marked over a live-allocation limit (LiveLimit). */
  overLimitLedgers = 0;
  /**
   * Asks the session's client for a snapshot of a device that is back under the live-allocation limits
   * (set by sessions whose source can send one; undefined: the mark stays until the session ends).
   */
  onUnderLimit: ((deviceId: number) => void) | undefined = undefined;
  constructor(
    readonly sessionId: string,
    readonly pid: number,
  ) {}

  /** Live allocations of the session across its devices. */
  get liveAllocations(): number {
    return this.live;
  }
}

/** The live allocations of one session on one device, with their totals. */
export class Ledger {
  /**
   * allocationId → slot: chains through the registry's `idNext` column (hashed by idHash). At most one
   * slot per two buckets: every ALLOC walks a whole chain (the duplicate check), and at a million live
   * allocations each slot on it is a cache miss; the spare heads cost 4 bytes per live allocation.
   */
  readonly byId = new SlotChains(1);
  /**
   * (memory type, start address) → slots: chains through the registry's `addressNext` column (hashed by
   * addressHash). Only the ADDRESS_OVERLAP check reads it.
   */
  readonly byAddress = new SlotChains();
  /** Bytes held, indexed by MemoryType. */
  readonly usedBytes = new Float64Array(MEMORY_TYPE_COUNT);
  /** Highest usedBytes of this ledger, indexed by MemoryType. */
  readonly peakBytes = new Float64Array(MEMORY_TYPE_COUNT);
  /** Live allocation count, indexed by MemoryType. */
  readonly allocations = new Float64Array(MEMORY_TYPE_COUNT);
  /**
   * A live-allocation limit refused an allocation of this (session, device) since its last snapshot: its
   * live set is a subset of the client's, until a snapshot swapped in under the limits (LiveLimit).
   */
  overLimit = false;
  /** Allocations of this ledger a limit refused (ALLOCs and snapshot entries), since the session began. */
  refusedAllocations = 0;
  /** FREEs of ids not live excused while marked (likely of refused allocations), since the session began. */
  excusedFrees = 0;
  constructor(
    readonly account: SessionAccount,
    readonly device: DeviceTotals,
    /** usedBytes over time (series/usage-series.ts). */
    readonly series: UsageFigure,
    /**
     * ≥ 1, unique among the registry's ledgers while this one holds allocations (reused after its
     * session is released): what the registry's per-slot owner column stores (Registry.slotColumns).
     */
    readonly serial: number,
  ) {}

  get deviceId(): number {
    return this.device.deviceId;
  }

  /** Live allocations of this ledger. */
  get liveAllocations(): number {
    return this.byId.count;
  }
}
