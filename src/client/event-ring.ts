/*
 * The ring that carries recorded events from the workload's thread to the client's writer thread
 * (ring-writer-worker.ts), in one SharedArrayBuffer. One producer (record(), on the workload's thread)
 * and one consumer (the writer). Positions count slots from the client's start and only grow; the
 * shared words hold them modulo 2^32, and a slot is `position & mask` (the slot count is a power of two).
 *
 * Layout: control words (Int32, each on its own 64-byte line so that the producer's tail and the
 * consumer's head do not share a line), writer counters (Float64), then the slots. A slot is 48 bytes:
 *   i32[0] op u8 · memoryType u8 · deviceId u16 (op 0: a marker, see below) · i32[1] contextId (marker: ordinal)
 *   f64[1..5] seq, allocationId, address, sizeBytes, timestampNs (as given: the writer checks them, as the
 *   encoder must, so the workload's thread does not)
 * A marker stands for a frame the workload's thread handed over out of band (a CONTEXT definition, a
 * snapshot frame): the writer writes that frame at the marker's place, so it keeps its order among events.
 */

/** Atomics.waitAsync (Node 16+); the TypeScript lib this project targets does not declare it yet. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(array: Int32Array, index: number, value: number): { async: boolean; value: unknown };
  }
).waitAsync;

/** Control word indexes (Int32Array). */
const TAIL = 0;
const HEAD = 16;
const SETTLED = 32;
const WAKE = 48;
const PARTIAL = 64;
const WANT_SETTLED = 80;
const MARKERS_TAKEN = 96;
const CONTROL_WORDS = 112;
/** Writer counters (Float64Array indexes after the control words). */
const SENT = 0;
const BATCHES = 1;
const INVALID = 2;
const REPAIRED = 3;
const COUNTER_VALUES = 8;
const SLOTS_START = CONTROL_WORDS * 4 + COUNTER_VALUES * 8;

export const RING_SLOT_BYTES = 48;
const SLOT_WORDS = RING_SLOT_BYTES / 4;
const SLOT_VALUES = RING_SLOT_BYTES / 8;
/** The slot's op for a marker (events are 1 = ALLOC, 2 = FREE). */
export const MARKER_OP = 0;

/**
 * Slots the ring keeps beyond its event bound, for markers: every CONTEXT definition (at most
 * MAX_CLIENT_CONTEXTS per client) and the frames of snapshots in flight always find room.
 */
export const RING_MARKER_ROOM = 8192;

/** The shared memory and the views both sides read it through. */
export class EventRing {
  readonly buffer: SharedArrayBuffer;
  readonly slotCount: number;
  readonly mask: number;
  readonly control: Int32Array;
  readonly counters: Float64Array;
  readonly words: Int32Array;
  readonly values: Float64Array;

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.slotCount = (buffer.byteLength - SLOTS_START) / RING_SLOT_BYTES;
    this.mask = this.slotCount - 1;
    this.control = new Int32Array(buffer, 0, CONTROL_WORDS);
    this.counters = new Float64Array(buffer, CONTROL_WORDS * 4, COUNTER_VALUES);
    this.words = new Int32Array(buffer, SLOTS_START);
    this.values = new Float64Array(buffer, SLOTS_START);
  }

  /** A ring of the smallest power of two slots that holds `minSlots` (at least 2). */
  static create(minSlots: number): EventRing {
    let slots = 2;
    while (slots < minSlots) slots *= 2;
    return new EventRing(new SharedArrayBuffer(SLOTS_START + slots * RING_SLOT_BYTES));
  }

  /** The other side's view of a ring made by create(). */
  static attach(buffer: SharedArrayBuffer): EventRing {
    return new EventRing(buffer);
  }

  /** Events the writer handed to the socket (ClientCounters.sent). */
  get sent(): number {
    return this.counters[SENT];
  }

  /** EVENTS frames the writer handed to the socket (ClientCounters.batches). */
  get batches(): number {
    return this.counters[BATCHES];
  }

  /** Events the writer refused: a value the wire cannot carry (ClientCounters.invalid, its part). */
  get invalid(): number {
    return this.counters[INVALID];
  }

  /** Events the writer sent with timestamp 0 or rounded down (ClientCounters.repairedTimestamps). */
  get repairedTimestamps(): number {
    return this.counters[REPAIRED];
  }

  addSent(events: number): void {
    this.counters[SENT] += events;
    this.counters[BATCHES]++;
  }

  addInvalid(): void {
    this.counters[INVALID]++;
  }

  addRepaired(): void {
    this.counters[REPAIRED]++;
  }
}

/** Distance from `from` to `to` (both positions, any magnitude) as the shared u32 words see it. */
function ahead(to: number, from: number): number {
  return ((to >>> 0) - (from >>> 0)) >>> 0;
}

/**
 * The producer side (the workload's thread). append() is the hot path: five Float64 and two Int32 stores
 * and a field increment; it reads the consumer's head only when its cached copy says full. The tail
 * becomes visible to the consumer with one Atomics.store when publish(), wake() or requestPartial() runs.
 */
export class EventRingWriter {
  private tail = 0;
  private headSeen = 0;
  /** Markers stored so far, mod 2^32 (as the consumer's MARKERS_TAKEN word counts them). */
  private markersPut = 0;
  private readonly mask: number;
  private readonly words: Int32Array;
  private readonly values: Float64Array;
  private readonly control: Int32Array;

  /**
   * `eventLimit`: most slots in use (events and markers) at which append() still takes an event.
   * `startPosition`: the first slot's position (0; tests start just below 2^32 to run the shared words
   * across their wrap). Set before the consumer attaches: it starts reading there (EventRingReader.resetTo).
   */
  constructor(
    readonly ring: EventRing,
    readonly eventLimit: number,
    startPosition = 0,
  ) {
    this.mask = ring.mask;
    this.words = ring.words;
    this.values = ring.values;
    this.control = ring.control;
    this.tail = startPosition;
    this.headSeen = startPosition;
    for (const word of [TAIL, HEAD, SETTLED, PARTIAL]) Atomics.store(this.control, word, startPosition);
  }

  /** Slots written so far (markers included): the position of the next one. */
  get position(): number {
    return this.tail;
  }

  /** The consumer's head (a position). */
  get head(): number {
    this.headSeen = this.tail - ahead(this.tail, Atomics.load(this.control, HEAD));
    return this.headSeen;
  }

  /** Slots in use now. */
  get used(): number {
    return this.tail - this.head;
  }

  /** Slots in use that hold events (not markers), bytes-worth: what ClientCounters.queueBytes shows. */
  get eventsQueued(): number {
    // Both counts are u32 (the shared word wraps): their difference modulo 2^32 is the markers in use.
    const markers = (this.markersPut - Atomics.load(this.control, MARKERS_TAKEN)) >>> 0;
    return Math.max(0, this.used - markers);
  }

  /** Stores one event; false (nothing stored) when `eventLimit` slots are in use. Fields must be valid. */
  append(
    op: number,
    deviceId: number,
    memoryType: number,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    timestampNs: number,
    contextId: number,
  ): boolean {
    const t = this.tail;
    if (t - this.headSeen >= this.eventLimit && t - this.head >= this.eventLimit) return false;
    const slot = t & this.mask;
    const w = slot * SLOT_WORDS;
    const v = slot * SLOT_VALUES;
    this.words[w] = op | (memoryType << 8) | (deviceId << 16);
    this.words[w + 1] = contextId;
    const values = this.values;
    values[v + 1] = seq;
    values[v + 2] = allocationId;
    values[v + 3] = address;
    values[v + 4] = sizeBytes;
    values[v + 5] = timestampNs;
    // Not published here: the consumer takes full batches and asked-for partial ones only, so the tail
    // is published when one of those is due (publish(), wake(), requestPartial()). A seq-cst store per
    // event cost more than the rest of append().
    this.tail = t + 1;
    return true;
  }

  /** Makes every slot stored so far visible to the consumer. */
  publish(): void {
    Atomics.store(this.control, TAIL, this.tail);
  }

  /** Stores a marker for out-of-band frame `ordinal`; false when the ring is full. */
  appendMarker(ordinal: number): boolean {
    const t = this.tail;
    if (t - this.head >= this.ring.slotCount) return false;
    const w = (t & this.mask) * SLOT_WORDS;
    this.words[w] = MARKER_OP;
    this.words[w + 1] = ordinal;
    this.markersPut = (this.markersPut + 1) >>> 0;
    this.tail = t + 1;
    Atomics.store(this.control, TAIL, t + 1);
    return true;
  }

  /**
   * Takes back every slot the consumer has not taken (it must not be reading: its connection is gone)
   * and returns how many held events.
   */
  discardUnread(): number {
    let events = 0;
    for (let p = this.head; p < this.tail; p++) {
      if ((this.words[(p & this.mask) * SLOT_WORDS] & 0xff) !== MARKER_OP) events++;
    }
    // Every marker put is now taken: stored, not added, so that a writer thread that died between counting
    // a marker and moving its head (docs/ARCHITECTURE.md, client: a failed writer) leaves no error behind.
    Atomics.store(this.control, MARKERS_TAKEN, this.markersPut);
    // The tail too: a shared tail left behind the new head (events appended but not yet published when the
    // connection closed) would read as ~2^32 slots available to the next connection's writer.
    Atomics.store(this.control, TAIL, this.tail);
    Atomics.store(this.control, HEAD, this.tail);
    Atomics.store(this.control, SETTLED, this.tail);
    this.headSeen = this.tail;
    return events;
  }

  /** Everything up to this position has been handed to the kernel or dropped. */
  get settled(): number {
    return this.tail - ahead(this.tail, Atomics.load(this.control, SETTLED));
  }

  /** Asks the consumer to write partial batches up to the current tail, and wakes it. */
  requestPartial(): void {
    Atomics.store(this.control, TAIL, this.tail);
    Atomics.store(this.control, PARTIAL, this.tail);
    this.wake();
  }

  /**
   * Publishes the tail and wakes the consumer if it waits (it then looks for full batches, markers and
   * due partial batches).
   */
  wake(): void {
    Atomics.store(this.control, TAIL, this.tail);
    Atomics.add(this.control, WAKE, 1);
    Atomics.notify(this.control, WAKE, 1);
  }

  /** While on, the consumer reports every settled position (the producer waits for one). */
  set wantSettled(on: boolean) {
    Atomics.store(this.control, WANT_SETTLED, on ? 1 : 0);
  }
}

/** What the consumer finds at its head. */
export const RingItem = {
  NONE: 0,
  EVENT: 1,
  MARKER: 2,
} as const;
export type RingItem = (typeof RingItem)[keyof typeof RingItem];

/** The consumer side (the writer thread). */
export class EventRingReader {
  private headPosition = 0;
  private readonly mask: number;
  private readonly words: Int32Array;
  private readonly values: Float64Array;
  private readonly control: Int32Array;

  constructor(readonly ring: EventRing) {
    this.mask = ring.mask;
    this.words = ring.words;
    this.values = ring.values;
    this.control = ring.control;
  }

  get head(): number {
    return this.headPosition;
  }

  /** Starts reading at `position` (what the producer's discardUnread left: a new connection). */
  resetTo(position: number): void {
    this.headPosition = position;
  }

  /** Slots the producer has published beyond the head. */
  available(): number {
    return ahead(Atomics.load(this.control, TAIL), this.headPosition);
  }

  /** True when the producer asked for partial batches up to a position beyond the head. */
  partialDue(): boolean {
    const distance = ahead(Atomics.load(this.control, PARTIAL), this.headPosition);
    return distance > 0 && distance < 0x80000000;
  }

  /** The wake word's value now: wait on it (Atomics.waitAsync) after finding nothing to do. */
  wakeValue(): number {
    return Atomics.load(this.control, WAKE);
  }

  /** Resolves when the producer calls wake() after `value` was read (at once if it already did). */
  waitForWake(value: number): Promise<unknown> {
    const result = waitAsync(this.control, WAKE, value);
    return result.async ? (result.value as Promise<unknown>) : Promise.resolve(result.value);
  }

  /** The item at head + `offset` (offset < available()). */
  itemAt(offset: number): RingItem {
    const op = this.words[((this.headPosition + offset) & this.mask) * SLOT_WORDS] & 0xff;
    return op === MARKER_OP ? RingItem.MARKER : RingItem.EVENT;
  }

  /** The ordinal of the marker at the head. */
  markerOrdinal(): number {
    return this.words[(this.headPosition & this.mask) * SLOT_WORDS + 1] >>> 0;
  }

  /** Events before the first marker among the next `limit` available slots. */
  eventRun(limit: number): number {
    const n = Math.min(limit, this.available());
    for (let i = 0; i < n; i++) if (this.itemAt(i) === RingItem.MARKER) return i;
    return n;
  }

  /**
   * Calls `sink` with the fields of the next `count` events (they must be events) and advances the head
   * past them.
   */
  take(
    count: number,
    sink: (
      op: number,
      deviceId: number,
      memoryType: number,
      seq: number,
      allocationId: number,
      address: number,
      sizeBytes: number,
      timestampNs: number,
      contextId: number,
    ) => unknown,
  ): void {
    const words = this.words;
    const values = this.values;
    let p = this.headPosition;
    for (let i = 0; i < count; i++, p++) {
      const slot = p & this.mask;
      const w = slot * SLOT_WORDS;
      const v = slot * SLOT_VALUES;
      const head = words[w];
      sink(
        head & 0xff,
        head >>> 16,
        (head >>> 8) & 0xff,
        values[v + 1],
        values[v + 2],
        values[v + 3],
        values[v + 4],
        values[v + 5],
        words[w + 1] >>> 0,
      );
    }
    this.advanceTo(p);
  }

  /** Moves the head past the marker at the head. */
  takeMarker(): void {
    Atomics.add(this.control, MARKERS_TAKEN, 1);
    this.advanceTo(this.headPosition + 1);
  }

  /** Everything before `position` has been handed to the kernel or dropped; reports it if asked. */
  settle(position: number): boolean {
    Atomics.store(this.control, SETTLED, position);
    return Atomics.load(this.control, WANT_SETTLED) !== 0;
  }

  private advanceTo(position: number): void {
    this.headPosition = position;
    Atomics.store(this.control, HEAD, position);
  }
}
