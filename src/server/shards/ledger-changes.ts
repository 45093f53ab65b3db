import { MEMORY_TYPE_COUNT } from "../../protocol/memory-type.js";
import {
  DETACHED_FIGURE,
  type FigureOwner,
  type FigureSource,
  SeriesClock,
  UsageFigure,
} from "../series/usage-series.js";

/**
 * What an ingest shard's registry records instead of 1-s buckets: per (session, device) ledger, the
 * lowest and highest total of each memory type since the shard last sent an update, and that it
 * changed. The main thread's mirror (shard-mirror.ts) turns these into the device and process series
 * and totals: a device's total is the sum over shards, so its buckets can only be built where every
 * shard's changes meet.
 *
 * Why min and max and not every value: the main thread applies one update of a shard as if all of it
 * happened at once when it arrives. Events of different sessions have no order between them (they come
 * on different sockets), so that is one valid order of the events; within the update a ledger's own
 * values went through its min and max, which is all the 1-s min/max buckets need.
 */
export class LedgerFigure extends UsageFigure {
  /** Per memory type, since the last update; meaningful where `touched` has the type's bit. */
  readonly low = new Float64Array(MEMORY_TYPE_COUNT);
  readonly high = new Float64Array(MEMORY_TYPE_COUNT);
  /** Bit t: the type's total was recorded since the last update. */
  touched = 0;
  /** On LedgerChanges' list since the last update. */
  listed = false;
  /** Bit t: type t was ever recorded (what `resume` records again, as UsageFigure's rings do). */
  private seen = 0;
  private paused = false;

  constructor(
    readonly owner: FigureOwner,
    private readonly changes: LedgerChanges,
  ) {
    super(DETACHED_CLOCK, false);
  }

  override record(memoryType: number, bytes: number): void {
    if (this.paused) return;
    const bit = 1 << memoryType;
    this.seen |= bit;
    if ((this.touched & bit) === 0) {
      if (!this.listed) this.changes.dirty(this);
      this.touched |= bit;
      this.low[memoryType] = bytes;
      this.high[memoryType] = bytes;
      return;
    }
    if (bytes < this.low[memoryType]) this.low[memoryType] = bytes;
    if (bytes > this.high[memoryType]) this.high[memoryType] = bytes;
  }

  /** Something other than a total changed (a live-allocation limit's mark or count). */
  override touch(): void {
    if (!this.listed) this.changes.dirty(this);
  }

  override pause(): void {
    this.paused = true;
  }

  override resume(usedBytes: Float64Array): void {
    this.paused = false;
    for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
      if ((this.seen & (1 << t)) !== 0 || usedBytes[t] !== 0) this.record(t, usedBytes[t]);
    }
  }

  override carryOver(): void {}
}

const DETACHED_CLOCK = new SeriesClock();

/** The FigureSource of a shard's registry: devices get no figure (the mirror keeps theirs). */
export class LedgerChanges implements FigureSource {
  private changed: LedgerFigure[] = [];

  /** `onFirstChange`: called when a figure changes while none had (the shard schedules an update). */
  constructor(private readonly onFirstChange: () => void) {}

  open(owner?: FigureOwner): UsageFigure {
    if (owner === undefined) return DETACHED_FIGURE;
    return new LedgerFigure(owner, this);
  }

  /**
   * The ledger's session is released: its totals (0 by now) were recorded while the figure was paused
   * (Registry.releaseAccount clears the ledger first), so they are recorded once more before it stops.
   */
  close(figure: UsageFigure): void {
    if (!(figure instanceof LedgerFigure)) return;
    const ledger = figure.owner.account.ledgers.get(figure.owner.deviceId);
    if (ledger !== undefined) figure.resume(ledger.usedBytes);
    figure.pause();
  }

  /** Called by a figure on its first change since the last `take`. */
  dirty(figure: LedgerFigure): void {
    figure.listed = true;
    if (this.changed.length === 0) this.onFirstChange();
    this.changed.push(figure);
  }

  get pending(): boolean {
    return this.changed.length !== 0;
  }

  /** The figures that changed since the last call, in the order they first changed; their marks cleared by the caller. */
  take(): LedgerFigure[] {
    const changed = this.changed;
    this.changed = [];
    return changed;
  }
}
