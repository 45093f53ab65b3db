/**
 * The registry's per-slot typed columns as others read them (Registry.slotColumns: the memory map's walk in
 * slot order), and how a column grows. The columns themselves stay fields of Registry: `allocate`/`free`,
 * the server's hot path, write them directly.
 */

import { InvalidOptionError } from "./errors.js";
import type { LiveLimits } from "./live-limit.js";
import type { LivePool } from "./shards/live-pool.js";

/** Registry.slotColumns: read-only views of the slot columns. */
export interface SlotColumns {
  readonly slotCount: number;
  readonly ledgerSerial: Int32Array;
  readonly memoryType: Uint8Array;
  /** Start address, bytes. */
  readonly address: Float64Array;
  readonly sizeBytes: Float64Array;
}

/** A typed column of the registry or of a reader's per-slot state. */
export type Column =
  | Float64Array<ArrayBuffer>
  | Uint32Array<ArrayBuffer>
  | Int32Array<ArrayBuffer>
  | Uint8Array<ArrayBuffer>;

/** A copy of `column` in a new column of the same kind with `capacity` entries (the rest zero). */
export function grown<T extends Column>(column: T, capacity: number): T {
  const next = new (column.constructor as new (length: number) => T)(capacity);
  next.set(column as never);
  return next;
}

/**
 * Entries of the registry's change log by default: 2^20 (4 MiB). A reader that falls further behind than
 * this (more allocations and frees between two memory maps) starts again from the slot columns.
 */
export const DEFAULT_CHANGE_LOG_SLOTS = 2 ** 20;

/** What a Registry is built with. */
export interface RegistryOptions {
  /** Entries of the change log (a power of two; default DEFAULT_CHANGE_LOG_SLOTS). */
  changeLogSlots?: number;
  /** Live-allocation limits (checked by the server's options); default DEFAULT_LIVE_LIMITS. */
  limits?: LiveLimits;
  /** With ingest shards: where the server-wide limit is reserved from (shards/live-pool.ts). */
  livePool?: LivePool;
}

/**
 * The slots the registry changed (allocated into or released), in order, in a ring: readers that keep
 * something derived from the slot columns (the memory map's coverage) bring it up to date from here
 * instead of walking every slot. A slot may appear more than once; a reader applies the slot's state at
 * the time it reads, so repeats are harmless. One store per change on the registry's hot path.
 */
export class SlotChangeLog {
  readonly slots: Int32Array;
  /** Changes recorded since start; entry i is slots[i & mask]. Exact up to 2^53. */
  recorded = 0;
  readonly mask: number;

  constructor(capacity: number) {
    if (
      !Number.isInteger(capacity) ||
      capacity < 1 ||
      capacity > 2 ** 30 ||
      (capacity & (capacity - 1)) !== 0
    ) {
      throw new InvalidOptionError(`change log capacity must be a power of two in 1..2^30, got ${capacity}`);
    }
    this.slots = new Int32Array(capacity);
    this.mask = capacity - 1;
  }

  record(slot: number): void {
    this.slots[this.recorded & this.mask] = slot;
    this.recorded++;
  }

  /** Whether every change since `position` (a past `recorded`) is still in the ring. */
  covers(position: number): boolean {
    return this.recorded - position <= this.slots.length;
  }
}
