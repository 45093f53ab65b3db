import type { MemoryMapResponse, MemoryMapType } from "../api-types.js";
import type { TimerScheduler } from "../timers.js";

/** The largest free block of one memory type of one device, as last computed. */
export interface LargestFreeBlock {
  deviceId: number;
  memoryType: MemoryMapType;
  /** Bank-local bytes (what one bank or core can still take in one piece). */
  bytes: number;
  /** When it was computed, on the scheduler's clock (ms). */
  computedAtMs: number;
}

export interface FreeBlockSources {
  /** Devices whose maps may be exact: those described by a client or holding allocations. */
  deviceIds(): Iterable<number>;
  /**
   * A mark that differs whenever an allocation was added or removed since it was last taken (e.g.
   * events applied and live allocations together); equal marks mean the maps are unchanged.
   */
  changeMark(): string;
  /** The device's map of `memoryType` (walks its allocations); undefined for an unknown device. */
  memoryMap(deviceId: number, memoryType: MemoryMapType): MemoryMapResponse | undefined;
}

export interface FreeBlockTimings {
  /** Least time between two refreshes, ms. */
  minTickMs: number;
  /** A refresh costing C ms is followed by at least `costFactor` × C ms of rest (bounds the CPU it takes). */
  costFactor: number;
  /** A map older than this is recomputed even if the registry did not change (host sources change it), ms. */
  maxAgeMs: number;
  /** Nothing is computed while no scrape has read the figures for this long (no Prometheus), ms. */
  idleAfterMs: number;
}

/**
 * Default refresh pace: one map per 250 ms at most and at most 10% of the CPU, so that one device's four
 * maps are each at most about a second old while events arrive (docs/METRICS.md).
 */
export const DEFAULT_FREE_BLOCK_TIMINGS: FreeBlockTimings = {
  minTickMs: 250,
  costFactor: 10,
  maxAgeMs: 10_000,
  idleAfterMs: 60_000,
};

/**
 * The maps worth computing: L1 and CB share one region (one map answers both), SYSTEM_MEMORY and KERNEL
 * have no bank-local address space.
 */
const COMPUTED_TYPES: readonly MemoryMapType[] = ["DRAM", "L1", "L1_SMALL", "TRACE"];

interface Entry {
  /** undefined: the map is inexact (layout unknown, or bytes without addresses): no figure. */
  bytes: number | undefined;
  mark: string;
  computedAtMs: number;
}

/**
 * Largest free blocks, kept fresh off the scrape path: a memory map walks every live allocation of its
 * device and type, which a scrape must never do (docs/DESIGN.md invariant 6). An unref'd timer recomputes
 * one stale map per tick, in turn, and only maps whose registry changed (or that passed `maxAgeMs`), and
 * only while scrapes read the figures; a scrape reads what the last ticks left. Figures are therefore a
 * little behind the live state: at most about (maps in turn) × the tick period.
 */
export class LargestFreeBlocks {
  private readonly entries = new Map<string, Entry>();
  private timer: unknown;
  private running = false;
  /** Round-robin position: the key refreshed last. */
  private lastKey = "";
  /** When a scrape last read the figures; the maps are walked only while someone reads them. */
  private lastReadMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly sources: FreeBlockSources,
    private readonly timers: TimerScheduler,
    private readonly timings: FreeBlockTimings = DEFAULT_FREE_BLOCK_TIMINGS,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
  }

  /**
   * The figures of exact maps, device then type order; CB repeats L1 (one shared region). Reading them
   * keeps the refresh going (a daemon nobody scrapes walks nothing): the first read finds none.
   */
  current(): LargestFreeBlock[] {
    this.lastReadMs = this.timers.nowMs();
    const out: LargestFreeBlock[] = [];
    const keys = [...this.entries.keys()].sort(compareKeys);
    for (const key of keys) {
      const entry = this.entries.get(key)!;
      if (entry.bytes === undefined) continue;
      const [deviceId, memoryType] = splitKey(key);
      out.push({ deviceId, memoryType, bytes: entry.bytes, computedAtMs: entry.computedAtMs });
      if (memoryType === "L1") {
        out.push({ deviceId, memoryType: "CB", bytes: entry.bytes, computedAtMs: entry.computedAtMs });
      }
    }
    return out;
  }

  /**
   * Recomputes the next stale map, if any (what one timer tick does); returns the time it took, ms, or
   * undefined when every map was fresh or no scrape read the figures for `idleAfterMs`.
   */
  refreshOne(): number | undefined {
    const now = this.timers.nowMs();
    if (now - this.lastReadMs > this.timings.idleAfterMs) return undefined;
    const mark = this.sources.changeMark();
    const wanted: string[] = [];
    for (const id of this.sources.deviceIds())
      for (const type of COMPUTED_TYPES) wanted.push(keyOf(id, type));
    wanted.sort(compareKeys);
    const present = new Set(wanted);
    for (const key of this.entries.keys()) if (!present.has(key)) this.entries.delete(key);
    const start = wanted.findIndex((k) => compareKeys(k, this.lastKey) > 0);
    for (let i = 0; i < wanted.length; i++) {
      const key = wanted[(Math.max(start, 0) + i) % wanted.length]!;
      const entry = this.entries.get(key);
      if (entry !== undefined && entry.mark === mark && now - entry.computedAtMs < this.timings.maxAgeMs) {
        continue;
      }
      const [deviceId, memoryType] = splitKey(key);
      const map = this.sources.memoryMap(deviceId, memoryType);
      const done = this.timers.nowMs();
      this.entries.set(key, {
        bytes: map?.exact === true ? map.largestFreeBlock : undefined,
        mark,
        computedAtMs: done,
      });
      this.lastKey = key;
      return done - now;
    }
    return undefined;
  }

  private schedule(delayMs: number): void {
    this.timer = this.timers.set(() => {
      this.timer = undefined;
      if (!this.running) return;
      const costMs = this.refreshOne();
      if (!this.running) return;
      // Nothing stale (or nobody reading): look again in a second.
      if (costMs === undefined) this.schedule(Math.max(this.timings.minTickMs, 1000));
      else this.schedule(Math.max(this.timings.minTickMs, this.timings.costFactor * costMs));
    }, delayMs);
  }
}

function keyOf(deviceId: number, type: MemoryMapType): string {
  return `${deviceId}:${type}`;
}

function splitKey(key: string): [number, MemoryMapType] {
  const colon = key.indexOf(":");
  return [Number(key.slice(0, colon)), key.slice(colon + 1) as MemoryMapType];
}

/** Device id numerically, then the type in COMPUTED_TYPES order; "" sorts first. */
function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  if (a === "") return -1;
  if (b === "") return 1;
  const [da, ta] = splitKey(a);
  const [db, tb] = splitKey(b);
  return da - db || COMPUTED_TYPES.indexOf(ta) - COMPUTED_TYPES.indexOf(tb);
}
