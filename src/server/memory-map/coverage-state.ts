/**
 * The coverage of one (device, region, memory types, slice size), kept from one memory map to the next:
 * how many extents cover each alignment unit (CoverageCounts) and each ledger's bytes per slice. A map
 * brings it up to date from the registry's change log (only the slots allocated into or released since the
 * last map) and starts again from every slot only when the log no longer holds all of them. So a map of a
 * million live allocations pays for what changed, not for what is there.
 *
 * Per slot it keeps what it counted (the extent in units and the ledger serial): a change subtracts that
 * and adds the slot's state as it is now, so the order and repetition of log entries do not matter.
 */
import { evenBankBytes, type MemoryRegion } from "../../device/layout.js";
import type { DeviceTotals, Registry, SlotColumns } from "../registry.js";
import { grown } from "../slot-columns.js";
import { CoverageCounts } from "./coverage-counts.js";

/** Outcome of bringing a state up to date. */
export const CoverageUpdate = {
  Ready: 0,
  /** An extent does not start and end on the region's alignment: the sort-based build must answer. */
  Unaligned: 1,
  /** Overlaps beyond CoverageCounts' limits, or more (serial × slice) counters than allowed. */
  OverLimit: 2,
} as const;
export type CoverageUpdate = (typeof CoverageUpdate)[keyof typeof CoverageUpdate];

export class CoverageState {
  readonly counts: CoverageCounts;
  /** Bytes per (ledger serial, slice): serial * sliceCount + slice. */
  ownerBytes = new Float64Array(0);
  /** Ledger serial each slot was counted for (0 = not counted), and its extent in units. */
  private countedSerial = new Int32Array(0);
  private countedFrom = new Int32Array(0);
  private countedTo = new Int32Array(0);
  /** The change log position this state reflects; -1 = never built (or unusable). */
  private logPosition = -1;
  private lastOutcome: CoverageUpdate = CoverageUpdate.Ready;

  // Per update: the device's serials, the registry's columns (replaced when they grow) and the region's
  // arithmetic.
  private onDevice = new Uint8Array(256);
  private columns: SlotColumns;
  private readonly units: number;
  private readonly sliceCount: number;
  private readonly pageBytes: number;
  private readonly minBankBytes: number;
  /** log2 of the units per slice when that is a power of two (the default 2048 slices), else -1. */
  private readonly sliceUnitsShift: number;

  constructor(
    private readonly registry: Registry,
    readonly device: DeviceTotals,
    readonly region: MemoryRegion,
    readonly typeMask: number,
    readonly sliceBytes: number,
    /** Most (serial × slice) byte counters. */
    private readonly maxOwnerCells: number,
    maxOverlapBlocks?: number,
  ) {
    this.counts = new CoverageCounts(maxOverlapBlocks);
    this.units = region.sizePerBankBytes / region.alignmentBytes;
    this.sliceCount = Math.ceil(region.sizePerBankBytes / sliceBytes);
    this.pageBytes = region.alignmentBytes * region.bankCount;
    this.minBankBytes = evenBankBytes(region, 0);
    const sliceUnits = sliceBytes / region.alignmentBytes;
    this.sliceUnitsShift =
      Number.isInteger(sliceUnits) && (sliceUnits & (sliceUnits - 1)) === 0 && sliceUnits < 2 ** 30
        ? 31 - Math.clz32(sliceUnits)
        : -1;
    this.columns = registry.slotColumns();
  }

  /** Brings the state up to the registry's present. */
  update(): CoverageUpdate {
    const log = this.registry.changes;
    const serialLimit = this.registry.ledgerSerialLimit;
    const cells = serialLimit * this.sliceCount;
    if (cells > this.maxOwnerCells) return this.give(CoverageUpdate.OverLimit);
    // Every serial the device's ledgers may have has a row, even when no slot changed.
    if (cells > this.ownerBytes.length) {
      const grown = new Float64Array(
        Math.min(Math.max(cells, this.ownerBytes.length * 2), this.maxOwnerCells),
      );
      grown.set(this.ownerBytes);
      this.ownerBytes = grown;
    }
    if (this.logPosition === log.recorded) return this.lastOutcome;
    this.markDevice(serialLimit);
    this.columns = this.registry.slotColumns();
    const slotCount = this.columns.slotCount;
    this.reserve(slotCount);
    let outcome: CoverageUpdate = CoverageUpdate.Ready;
    if (this.logPosition >= 0 && this.lastOutcome === CoverageUpdate.Ready && log.covers(this.logPosition)) {
      const { slots, mask, recorded } = log;
      for (let at = this.logPosition; at < recorded && outcome === CoverageUpdate.Ready; at++) {
        outcome = this.recount(slots[at & mask]);
      }
    } else {
      this.counts.reset(this.units);
      this.ownerBytes.fill(0);
      this.countedSerial.fill(0, 0, slotCount);
      for (let slot = 0; slot < slotCount && outcome === CoverageUpdate.Ready; slot++) {
        outcome = this.recount(slot);
      }
    }
    return this.give(outcome);
  }

  /** Distinct pids of the device's ledgers, and per pid the serials of its ledgers. */
  owners(): { pids: number[]; serialsOfPid: number[][] } {
    const byPid = new Map<number, number[]>();
    for (const ledger of this.device.ledgers) {
      const serials = byPid.get(ledger.account.pid);
      if (serials === undefined) byPid.set(ledger.account.pid, [ledger.serial]);
      else serials.push(ledger.serial);
    }
    return { pids: [...byPid.keys()], serialsOfPid: [...byPid.values()] };
  }

  private give(outcome: CoverageUpdate): CoverageUpdate {
    this.lastOutcome = outcome;
    this.logPosition = this.registry.changes.recorded;
    return outcome;
  }

  /** Takes back what the slot counted, then counts the slot as it is now. */
  private recount(slot: number): CoverageUpdate {
    const counted = this.countedSerial[slot];
    if (counted !== 0) {
      const from = this.countedFrom[slot];
      const to = this.countedTo[slot];
      this.counts.remove(from, to);
      this.addOwnerBytes(counted, from, to, -1);
      this.countedSerial[slot] = 0;
    }
    const { ledgerSerial, memoryType, address, sizeBytes } = this.columns;
    const serial = ledgerSerial[slot];
    if (serial === 0 || this.onDevice[serial] === 0 || ((this.typeMask >>> memoryType[slot]) & 1) === 0) {
      return CoverageUpdate.Ready;
    }
    const region = this.region;
    const unit = region.alignmentBytes;
    const regionBytes = region.sizePerBankBytes;
    const offset = address[slot] - region.baseAddressBytes;
    // evenBankBytes, unrolled (the region's alignment is a power of two, so dividing by it is exact).
    const perBank = Math.ceil(sizeBytes[slot] / this.pageBytes) * unit;
    // Clipped to the region: an address outside it occupies nothing here (as in the sorted build).
    const startUnit = offset > 0 ? offset / unit : 0;
    const endUnit = Math.min(offset + Math.max(perBank, this.minBankBytes), regionBytes) / unit;
    if (endUnit <= startUnit) return CoverageUpdate.Ready;
    const from = Math.floor(startUnit);
    const to = Math.floor(endUnit);
    if (from !== startUnit || to !== endUnit) return CoverageUpdate.Unaligned;
    if (!this.counts.add(from, to)) return CoverageUpdate.OverLimit;
    this.addOwnerBytes(serial, from, to, 1);
    this.countedSerial[slot] = serial;
    this.countedFrom[slot] = from;
    this.countedTo[slot] = to;
    return CoverageUpdate.Ready;
  }

  /** Adds (sign 1) or takes back (sign −1) the bytes of units [from, to) in each slice they span. */
  private addOwnerBytes(serial: number, from: number, to: number, sign: number): void {
    const unit = this.region.alignmentBytes;
    const row = serial * this.sliceCount;
    const shift = this.sliceUnitsShift;
    // Most extents lie in one slice: with a power-of-two slice, a shift finds it.
    if (shift >= 0 && from >>> shift === (to - 1) >>> shift) {
      this.ownerBytes[row + (from >>> shift)] += sign * (to - from) * unit;
      return;
    }
    const sliceBytes = this.sliceBytes;
    const start = from * unit;
    const end = to * unit;
    let slice = Math.floor(start / sliceBytes);
    let sliceEnd = (slice + 1) * sliceBytes;
    if (end <= sliceEnd) {
      this.ownerBytes[row + slice] += sign * (end - start);
      return;
    }
    let at = start;
    while (at < end) {
      const upTo = Math.min(sliceEnd, end);
      this.ownerBytes[row + slice] += sign * (upTo - at);
      at = upTo;
      slice++;
      sliceEnd += sliceBytes;
    }
  }

  private markDevice(serialLimit: number): void {
    if (serialLimit > this.onDevice.length) {
      let size = this.onDevice.length;
      while (size < serialLimit) size *= 2;
      this.onDevice = new Uint8Array(size);
    } else {
      this.onDevice.fill(0, 0, serialLimit);
    }
    for (const ledger of this.device.ledgers) this.onDevice[ledger.serial] = 1;
  }

  private reserve(slots: number): void {
    if (slots <= this.countedSerial.length) return;
    let size = Math.max(1024, this.countedSerial.length);
    while (size < slots) size *= 2;
    this.countedSerial = grown(this.countedSerial, size);
    this.countedFrom = grown(this.countedFrom, size);
    this.countedTo = grown(this.countedTo, size);
  }
}
