import { EventBatchEncoder } from "../protocol/event-batch-encoder.js";
import { DEFAULT_MAX_FRAME_BYTES } from "../protocol/frames.js";
import { LENGTH_FIELD_BYTES, maxEventsPerFrame } from "../protocol/layout.js";
import { Connection } from "./connection.js";
import { type EventRing, EventRingReader, RingItem } from "./event-ring.js";
import { type FromWriter, type ToWriter, toWire } from "./writer-messages.js";

/** A frame handed to the socket whose write callback has not come: settling it settles `end`. */
interface InFlight {
  end: number;
  /** The encoder's batch buffer to recycle, or undefined. */
  frame: Uint8Array | undefined;
}

/**
 * The client's writer thread: drains the EventRing into EVENTS frames and writes them, with the frames
 * the workload's thread handed over at their markers, to the one connection the client asked it to
 * open. It owns the socket; the client keeps every decision (reconnects, snapshots, flush, counters it
 * can keep itself) and learns what the socket did from FromWriter messages.
 *
 * Batching as on the workload's thread before: full batches are written when the client wakes the writer
 * (every few batches), a partial batch only when the client asks (its flush timer or flush()), so a burst
 * recorded without yielding still travels in full frames. Socket backpressure stops the draining until 'drain'; the ring
 * then fills and record() drops (counted, the device resyncs).
 */
export class RingWriter {
  private readonly reader: EventRingReader;
  private readonly encoder: EventBatchEncoder;
  private readonly frames = new Map<number, Uint8Array>();
  private readonly inFlight: InFlight[] = [];
  private connection: Connection | undefined;
  private connectionId = 0;
  private socketWritable = false;
  private batchLimit: number;
  private maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
  private waiting = false;
  private readonly append: EventBatchEncoder["append"];

  constructor(
    ring: EventRing,
    private readonly batchMaxEvents: number,
    private readonly post: (message: FromWriter) => void,
  ) {
    const reader = new EventRingReader(ring);
    this.reader = reader;
    this.encoder = new EventBatchEncoder(batchMaxEvents);
    this.batchLimit = batchMaxEvents;
    const encoder = this.encoder;
    const counters = reader.ring;
    // The encoder refuses values the wire cannot carry, so a frame we send always decodes. The
    // timestamp is informative, the rest is identity: an event whose only fault is a clock outside
    // [0, 2^53) ns (epoch-based ns) is sent with timestamp 0, a fractional one rounded down, rather than
    // lost, which would leave a gap. Any other fault is a caller bug, counted invalid.
    this.append = (
      op,
      deviceId,
      memoryType,
      seq,
      allocationId,
      address,
      sizeBytes,
      timestampNs,
      contextId = 0,
    ) => {
      try {
        return encoder.append(
          op,
          deviceId,
          memoryType,
          seq,
          allocationId,
          address,
          sizeBytes,
          timestampNs,
          contextId,
        );
      } catch {
        const repaired = timestampNs >= 0 && timestampNs < 2 ** 53 ? Math.floor(timestampNs) : 0;
        try {
          encoder.append(
            op,
            deviceId,
            memoryType,
            seq,
            allocationId,
            address,
            sizeBytes,
            repaired,
            contextId,
          );
        } catch {
          counters.addInvalid();
          return false;
        }
        counters.addRepaired();
        return true;
      }
    };
    this.waitForWork(this.reader.wakeValue());
  }

  handle(message: ToWriter): void {
    switch (message.type) {
      case "open":
        this.open(message.id, message.socketPath, message.greeting, message.handshakeTimeoutMs, message.head);
        return;
      case "frame":
        this.frames.set(message.ordinal, message.frame);
        this.drain();
        return;
      case "end":
        if (message.id === this.connectionId) this.connection?.end(message.frame);
        return;
      case "destroy":
        if (message.id === this.connectionId) this.connection?.destroy();
        return;
      case "fault":
        // The thread's entry acts on it (ring-writer-worker.ts); the writer itself never fails on purpose.
        return;
    }
  }

  private open(id: number, socketPath: string, greeting: Uint8Array, timeoutMs: number, head: number): void {
    this.connection?.destroy();
    this.connectionId = id;
    this.reader.resetTo(head);
    this.encoder.reset();
    this.inFlight.length = 0;
    // Frames handed over for an earlier connection went with it (their markers were discarded).
    this.frames.clear();
    this.socketWritable = false;
    const connection: Connection = new Connection(socketPath, greeting, timeoutMs, {
      onWelcome: (frame) => {
        if (this.connection !== connection) return;
        this.maxFrameBytes = frame.maxFrameBytes;
        this.batchLimit = Math.min(this.batchMaxEvents, maxEventsPerFrame(frame.maxFrameBytes));
        this.socketWritable = true;
        this.post({ type: "welcome", id, frame });
        this.drain();
      },
      onResyncRequest: (frame) => {
        if (this.connection === connection) this.post({ type: "resync", id, frame });
      },
      onDrain: () => {
        if (this.connection !== connection) return;
        this.socketWritable = true;
        this.drain();
      },
      onWritten: () => {
        if (this.connection === connection) this.written();
      },
      onClosed: (error) => {
        if (this.connection !== connection) return;
        this.connection = undefined;
        this.socketWritable = false;
        this.post({
          type: "closed",
          id,
          error: error === undefined ? undefined : toWire(error, socketPath, timeoutMs),
        });
      },
    });
    // The writer thread stays alive through its message port; the socket never holds it.
    this.connection = connection;
  }

  /** Writes what is due while the socket takes it, then waits for the client's next wake. */
  private drain(): void {
    const connection = this.connection;
    const reader = this.reader;
    // Read before looking for work: a wake after this point ends the wait at once (no lost wake-up).
    const wakeValue = reader.wakeValue();
    while (this.socketWritable && connection?.isWelcomed && connection.isOpen) {
      const available = reader.available();
      if (available === 0) break;
      if (reader.itemAt(0) === RingItem.MARKER) {
        const ordinal = reader.markerOrdinal();
        const frame = this.frames.get(ordinal);
        // Posted before its marker was stored: it is on its way, and its arrival drains again.
        if (frame === undefined) break;
        this.frames.delete(ordinal);
        reader.takeMarker();
        this.write(connection, frame, undefined, 0);
        continue;
      }
      const run = reader.eventRun(this.batchLimit);
      if (run < this.batchLimit && !reader.partialDue() && run === available) break;
      reader.take(run, this.append);
      const events = this.encoder.count;
      if (events === 0) {
        // Every one of them was invalid: nothing to write, their positions settle in order.
        this.settled({ end: reader.head, frame: undefined }, true);
        continue;
      }
      const frame = this.encoder.finish();
      this.write(connection, frame, frame, events);
    }
    this.waitForWork(wakeValue);
  }

  private write(
    connection: Connection,
    frame: Uint8Array,
    recycle: Uint8Array | undefined,
    events: number,
  ): void {
    const end = this.reader.head;
    if (events === 0 && frame.length - LENGTH_FIELD_BYTES > this.maxFrameBytes) {
      // Larger than the server's limit (handed over before WELCOME announced it): the server would refuse it.
      this.settled({ end, frame: undefined }, true);
      return;
    }
    if (events > 0) this.reader.ring.addSent(events);
    this.inFlight.push({ end, frame: recycle });
    this.socketWritable = connection.write(frame);
  }

  /** The oldest in-flight frame reached the kernel. */
  private written(): void {
    const done = this.inFlight.shift();
    if (done !== undefined) this.settled(done, false);
  }

  private settled(done: InFlight, dropped: boolean): void {
    if (done.frame !== undefined) this.encoder.recycle(done.frame);
    // A dropped frame settles when the frames written before it do.
    if (dropped && this.inFlight.length > 0) {
      this.inFlight[this.inFlight.length - 1]!.end = done.end;
      return;
    }
    if (this.reader.settle(done.end)) this.post({ type: "settled", position: done.end });
  }

  /** Drains again after the client's next wake (one wait at a time; an older one ends at that wake too). */
  private waitForWork(value: number): void {
    if (this.waiting) return;
    this.waiting = true;
    void this.reader.waitForWake(value).then(() => {
      this.waiting = false;
      this.drain();
    });
  }
}
