import type { Ledger, SessionAccount } from "./ledger.js";
import type { LivePool } from "./shards/live-pool.js";

/**
 * Most live allocations the registry holds over every session and device by default: 2^23. A live
 * allocation costs about 60 bytes (45 in the slot columns, the rest in the two hash indexes' heads; the
 * `server_bytes_per_live_allocation` benchmark), so ~480 MiB at the limit (the columns grow by doubling and
 * 2^23 is a power of two: no slack past it). tt-metal programs hold thousands to tens of thousands of
 * buffers per device; no real one comes near.
 */
export const DEFAULT_MAX_LIVE_ALLOCATIONS = 8_388_608;

/**
 * Most live allocations one session holds over its devices by default: 2^21 (~120 MiB of registry at
 * ~57 bytes each), a quarter of the server-wide limit, so one runaway process cannot take it all.
 */
export const DEFAULT_MAX_LIVE_ALLOCATIONS_PER_SESSION = 2_097_152;

/**
 * The low-water mark, as a fraction of each limit: a (session, device) over its limit asks for a snapshot
 * once its session holds at most this share of the per-session limit and the server at most this share of
 * the server-wide one. Lower than the limit so that a process hovering at the limit costs one snapshot per
 * quarter of the limit freed, not one per FREE.
 */
export const LIVE_LIMIT_LOW_WATER = 3 / 4;

/** The limits of a Registry, checked by the server's options (limit-options.ts). */
export interface LiveLimits {
  maxLiveAllocations: number;
  maxLiveAllocationsPerSession: number;
}

export const DEFAULT_LIVE_LIMITS: LiveLimits = {
  maxLiveAllocations: DEFAULT_MAX_LIVE_ALLOCATIONS,
  maxLiveAllocationsPerSession: DEFAULT_MAX_LIVE_ALLOCATIONS_PER_SESSION,
};

/**
 * The cold side of the registry's bound on live allocations (docs/DESIGN.md "Live-allocation limits"):
 * what is counted and marked when an ALLOC is refused, which FREEs are excused while a (session, device)
 * is marked, and when a marked one is back under the low-water mark and asks its session for a snapshot
 * (SessionAccount.onUnderLimit). The registry's hot path compares its counters with the limits itself;
 * it calls in here only on a refusal, an unknown FREE, and after a release while something is marked.
 */
export class LiveLimit {
  readonly maxLive: number;
  readonly maxLivePerSession: number;
  readonly lowWater: number;
  readonly lowWaterPerSession: number;
  /** ALLOCs and snapshot entries not stored because of a limit, since start. */
  refused = 0;
  /** FREEs of ids not live, excused (not UNKNOWN_FREE) because their (session, device) was marked. */
  excusedFrees = 0;
  /** Ledgers marked over their limit now; `markedCount` mirrors its size for the registry's check. */
  private readonly marked = new Set<Ledger>();
  markedCount = 0;

  /**
   * `pool`: with ingest shards, the server-wide limit is a reservation from shared memory (LivePool); the
   * registry holds what it reserved (`widen`, `giveBack`). Without, the registry may hold `maxLive`.
   */
  constructor(
    limits: LiveLimits = DEFAULT_LIVE_LIMITS,
    private readonly pool?: LivePool,
  ) {
    this.maxLive = limits.maxLiveAllocations;
    this.maxLivePerSession = limits.maxLiveAllocationsPerSession;
    this.lowWater = Math.floor(this.maxLive * LIVE_LIMIT_LOW_WATER);
    this.lowWaterPerSession = Math.floor(this.maxLivePerSession * LIVE_LIMIT_LOW_WATER);
  }

  /** Live allocations the registry may hold before it asks again (`widen`): its first quota. */
  get firstQuota(): number {
    return this.pool === undefined ? this.maxLive : 0;
  }

  /** The registry holds `quota` and needs one more: its new quota (the same: refuse). */
  widen(quota: number): number {
    return this.pool === undefined ? quota : this.pool.reserve(quota);
  }

  /** After a shard's update: the quota it keeps with `live` allocations (spare reservations go back). */
  giveBack(quota: number, live: number): number {
    return this.pool === undefined ? quota : this.pool.giveBack(quota, live);
  }

  /** `count` allocations of the ledger were not stored: counted, and the ledger marked. */
  refuse(ledger: Ledger, count: number): void {
    this.refused += count;
    ledger.refusedAllocations += count;
    this.mark(ledger);
    ledger.series.touch();
  }

  /** A FREE of an id not live in a marked ledger: most likely one the limit refused; no anomaly. */
  excuseFree(ledger: Ledger): void {
    this.excusedFrees++;
    ledger.excusedFrees++;
  }

  /** The ledger's allocations are being replaced (a snapshot) or released: it is exact again. */
  unmark(ledger: Ledger): void {
    if (!ledger.overLimit) return;
    ledger.overLimit = false;
    ledger.series.touch();
    ledger.account.overLimitLedgers--;
    this.marked.delete(ledger);
    this.markedCount--;
  }

  /**
   * After allocations of `account` were released, `live` left in the registry: asks for a snapshot of
   * every marked ledger that is now under both low-water marks. Called only while `markedCount` > 0.
   * Single FREEs lower `live` one at a time, so the server-wide mark is crossed exactly at equality;
   * bulk releases (a session ended, a snapshot swapped in) pass no account and check every ledger but
   * `except` (a snapshot just swapped in short of room asks again at its next FREE, not in a loop).
   */
  released(account: SessionAccount | undefined, live: number, except?: Ledger): void {
    // Sharded, the server-wide count is the shards' reservations (at least their live allocations), read
    // from shared memory; it moves by chunks, so every release under the mark checks (a request already
    // on its way is not sent twice: Session.resyncUnderLimit).
    const total = this.pool?.total ?? live;
    if (total > this.lowWater) return;
    if (account === undefined || total === this.lowWater || this.pool !== undefined) {
      for (const ledger of [...this.marked]) if (ledger !== except) this.askIfUnder(ledger);
      return;
    }
    if (account.overLimitLedgers === 0 || account.onUnderLimit === undefined) return;
    if (account.live > this.lowWaterPerSession) return;
    for (const ledger of account.ledgers.values()) if (ledger.overLimit) this.askIfUnder(ledger);
  }

  private askIfUnder(ledger: Ledger): void {
    const account = ledger.account;
    if (account.live <= this.lowWaterPerSession) account.onUnderLimit?.(ledger.deviceId);
  }

  private mark(ledger: Ledger): void {
    if (ledger.overLimit) return;
    ledger.overLimit = true;
    ledger.account.overLimitLedgers++;
    this.marked.add(ledger);
    this.markedCount++;
  }
}
