import { MEMORY_TYPE_COUNT } from "../../protocol/memory-type.js";
import type { SessionAccount } from "../ledger.js";
import type { TimerScheduler } from "../timers.js";

/** Width of one bucket, ms. */
export const SERIES_BUCKET_MS = 1000;
/** Buckets kept per figure and memory type: 15 minutes of 1-s buckets. */
export const SERIES_BUCKETS = 900;
/** How far back buckets are kept, ms. */
export const SERIES_WINDOW_MS = SERIES_BUCKET_MS * SERIES_BUCKETS;
/**
 * Bytes one memory type of one figure holds once it has been used: min, max and last as float64 for
 * every bucket (900 × 3 × 8 = 21,600). A figure with all 7 types in use holds 151,200 bytes.
 */
export const SERIES_BYTES_PER_TYPE = SERIES_BUCKETS * 3 * 8;

/** Default bound on the bytes of every ring together (about 3,100 rings of one type of one figure). */
export const DEFAULT_SERIES_BUDGET_BYTES = 64 * 1024 * 1024;

/**
 * Where the records of a type refused by the budget go: written, never read (the type lists no
 * buckets), so that `record` keeps one path.
 */
const REFUSED_RING = new Float64Array(SERIES_BUCKETS * 3);

/** The bucket being filled and the ring budget, shared by every figure: all figures roll over together. */
export class SeriesClock {
  /** Ring index of the current bucket. */
  head = 0;
  /** The current bucket's second (ms since the epoch / 1000, floored). */
  second = 0;
  /** Rings that may still be allocated (the budget). */
  ringsLeft = Number.POSITIVE_INFINITY;
  /** Rings refused because the budget was spent, since start. */
  refusedRings = 0;
  /** Rings of dropped figures, reused before allocating (sessions come and go). */
  readonly spareRings: Float64Array[] = [];
}

/** Spare rings kept for reuse (5.3 MB at most); beyond, a dropped figure's rings are left to the GC. */
const MAX_SPARE_RINGS = 256;

/**
 * The bytes in use of one figure (a device, or one session on one device), per memory type, in 1-s
 * buckets of min/max/last. `record` is on the registry's apply path: O(1), no allocation once the
 * type's ring exists (a type's ring is allocated on its first change, so unused types cost nothing).
 */
export class UsageFigure {
  /** Per memory type: [min, max, last] × SERIES_BUCKETS, or undefined while the type never changed. */
  readonly rings: (Float64Array | undefined)[] = new Array(MEMORY_TYPE_COUNT).fill(undefined);
  /** Per memory type: the second of the ring's oldest meaningful bucket. */
  readonly firstSecond = new Float64Array(MEMORY_TYPE_COUNT);
  /** Whether a value was recorded since the stream last cleared the mark. */
  changed = false;
  /** false while the owner is being replaced whole (a snapshot) or when the figure is detached. */
  recording: boolean;

  constructor(
    private readonly clock: SeriesClock,
    readonly attached: boolean,
  ) {
    this.recording = attached;
  }

  /** The figure's `memoryType` total is now `bytes`. */
  record(memoryType: number, bytes: number): void {
    if (!this.recording) return;
    const ring = this.rings[memoryType] ?? this.open(memoryType);
    const i = this.clock.head * 3;
    if (bytes < ring[i]) ring[i] = bytes;
    if (bytes > ring[i + 1]) ring[i + 1] = bytes;
    ring[i + 2] = bytes;
    this.changed = true;
  }

  /** Something of the owner other than its totals changed (shards/ledger-changes.ts listens; here nothing). */
  touch(): void {}

  /** Stops recording until `resume` (intermediate totals of a whole replacement are not real usage). */
  pause(): void {
    this.recording = false;
  }

  /** Records the settled totals of every type that has a ring or is not 0. */
  resume(usedBytes: Float64Array): void {
    this.recording = this.attached;
    for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
      if (this.rings[t] !== undefined || usedBytes[t] !== 0) this.record(t, usedBytes[t]);
    }
  }

  /** Starts the bucket at the clock's head from the previous bucket's last value. */
  carryOver(previousHead: number): void {
    const from = previousHead * 3 + 2;
    const to = this.clock.head * 3;
    for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
      const ring = this.rings[t];
      if (ring === undefined || ring === REFUSED_RING) continue;
      const last = ring[from];
      ring[to] = last;
      ring[to + 1] = last;
      ring[to + 2] = last;
    }
  }

  /** Whether the type has buckets to show (a ring that the budget did not refuse). */
  hasBuckets(memoryType: number): boolean {
    const ring = this.rings[memoryType];
    return ring !== undefined && ring !== REFUSED_RING;
  }

  /** Rings this figure holds (refused ones excluded). */
  get ringCount(): number {
    let n = 0;
    for (let t = 0; t < MEMORY_TYPE_COUNT; t++) if (this.hasBuckets(t)) n++;
    return n;
  }

  /**
   * The type's ring, created with a current bucket of 0 (every figure starts with nothing in use); the
   * refused ring when the budget is spent (the type then shows no buckets for the figure's life).
   */
  private open(memoryType: number): Float64Array {
    const clock = this.clock;
    if (clock.ringsLeft < 1) {
      clock.refusedRings++;
      this.rings[memoryType] = REFUSED_RING;
      return REFUSED_RING;
    }
    clock.ringsLeft--;
    // A spare ring holds an old figure's buckets: only the current one is reset, since buckets are read
    // from `firstSecond` on and every later one is written by carryOver.
    const ring = clock.spareRings.pop() ?? new Float64Array(SERIES_BUCKETS * 3);
    const i = clock.head * 3;
    ring[i] = 0;
    ring[i + 1] = 0;
    ring[i + 2] = 0;
    this.rings[memoryType] = ring;
    this.firstSecond[memoryType] = this.clock.second;
    return ring;
  }
}

/** A figure that records nothing, for registries without series (tests, benchmarks of the registry alone). */
export const DETACHED_FIGURE = new UsageFigure(new SeriesClock(), false);

/**
 * Every figure's buckets and the clock that rolls them over each second. The number of figures follows
 * the live devices and (session, device) ledgers, which the session table bounds; a figure is dropped
 * with its session (or device).
 */
/**
 * Where the registry gets the figure of a device (`owner` undefined) or of a session on a device: the
 * server's UsageSeries, or an ingest shard's LedgerChanges (shards/ledger-changes.ts), which keeps no
 * buckets and only remembers what changed until the shard's next update to the main thread.
 */
export interface FigureSource {
  open(owner?: FigureOwner): UsageFigure;
  close(figure: UsageFigure): void;
}

/** The (session, device) a ledger's figure belongs to. */
export interface FigureOwner {
  readonly account: SessionAccount;
  readonly deviceId: number;
}

export class UsageSeries implements FigureSource {
  readonly clock = new SeriesClock();
  private readonly figures = new Set<UsageFigure>();
  private timer: unknown;

  /**
   * `epochMs`: the wall clock in ms since the epoch (bucket times are whole seconds of it); it is read
   * once a second, never per event. `budgetBytes`: the most all rings together may take; a type of a
   * figure that would pass it shows no buckets (counted in `refusedRings`).
   */
  constructor(
    private readonly timers: TimerScheduler,
    private readonly epochMs: () => number,
    budgetBytes: number = DEFAULT_SERIES_BUDGET_BYTES,
  ) {
    this.clock.second = Math.floor(epochMs() / SERIES_BUCKET_MS);
    this.clock.ringsLeft = Math.floor(budgetBytes / SERIES_BYTES_PER_TYPE);
  }

  /** Types of figures left without buckets because the budget was spent, since start. */
  get refusedRings(): number {
    return this.clock.refusedRings;
  }

  /** Figures held now. */
  get figureCount(): number {
    return this.figures.size;
  }

  /** Bytes held by every figure's rings now. */
  get ringBytes(): number {
    let rings = 0;
    for (const figure of this.figures) rings += figure.ringCount;
    return rings * SERIES_BYTES_PER_TYPE;
  }

  /** Whether any figure recorded a value since its `changed` mark was last cleared. */
  anyChanged(): boolean {
    for (const figure of this.figures) if (figure.changed) return true;
    return false;
  }

  open(): UsageFigure {
    const figure = new UsageFigure(this.clock, true);
    this.figures.add(figure);
    return figure;
  }

  /** Drops the figure's buckets; it records nothing more. */
  close(figure: UsageFigure): void {
    if (!this.figures.delete(figure)) return;
    figure.recording = false;
    const clock = this.clock;
    for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
      if (!figure.hasBuckets(t)) continue;
      clock.ringsLeft++;
      if (clock.spareRings.length < MAX_SPARE_RINGS) clock.spareRings.push(figure.rings[t]!);
    }
    figure.rings.fill(undefined);
  }

  /** Rolls over at each second boundary of the wall clock until `stop`. */
  start(): void {
    if (this.timer !== undefined) return;
    const schedule = () => {
      const delay = SERIES_BUCKET_MS - (this.epochMs() % SERIES_BUCKET_MS);
      this.timer = this.timers.set(() => {
        this.catchUp();
        schedule();
      }, delay);
    };
    schedule();
  }

  stop(): void {
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
  }

  /** Rolls over to the wall clock's current second (several buckets when the event loop was held up). */
  catchUp(): void {
    const second = Math.floor(this.epochMs() / SERIES_BUCKET_MS);
    let steps = second - this.clock.second;
    if (steps <= 0) return;
    if (steps > SERIES_BUCKETS) {
      // Everything in the window is older than the window: jump, carrying the last values once.
      this.clock.second = second - SERIES_BUCKETS;
      steps = SERIES_BUCKETS;
    }
    for (let i = 0; i < steps; i++) this.rollOver();
  }

  /** Every second of the window: buckets of `second`, for each figure and type in use. */
  private rollOver(): void {
    const clock = this.clock;
    const previous = clock.head;
    clock.head = previous + 1 === SERIES_BUCKETS ? 0 : previous + 1;
    clock.second++;
    for (const figure of this.figures) figure.carryOver(previous);
  }
}
