// Size (why ~580 lines in one file): record(), the pump and the connection callbacks share the ring,
// resync and connection state, so they stay together (a split would put a hop on record()'s per-event
// path). The connection life cycle (HELLO,
// version fallback, reconnect backoff: client-link.ts), the writer thread (writer-thread.ts, which
// encodes and owns the socket; writer-restarts.ts: what follows its failure), resync state, flush
// waiters, snapshot sending and the workload's callbacks live apart.
import { DEFAULT_MAX_FRAME_BYTES, type ResyncRequestFrame, type WelcomeFrame } from "../protocol/frames.js";
import { EVENT_RECORD_BYTES, maxEventsPerFrame } from "../protocol/layout.js";
import { MEMORY_TYPE_COUNT } from "../protocol/memory-type.js";
import { ClientContexts, MAX_CLIENT_CONTEXTS } from "./client-contexts.js";
import { ClientLink } from "./client-link.js";
import { ClientListeners } from "./client-listeners.js";
import { DeviceResyncState, type DeviceTrack } from "./device-resync-state.js";
import { type ClientError, ConnectionFailedError, WriterFailedError } from "./errors.js";
import { EventRing, EventRingWriter, RING_MARKER_ROOM } from "./event-ring.js";
import { FlushWaiters } from "./flush-waiters.js";
import { flushTimeoutMs, type ResolvedClientOptions, resolveClientOptions } from "./options.js";
import { SnapshotSender } from "./snapshot-sender.js";
import { clientTestHooks } from "./test-hooks.js";
import type {
  AllocationClientOptions,
  ClientCounters,
  ClientState,
  EventRecorder,
  FlushOptions,
} from "./types.js";
import { WriterRestarts } from "./writer-restarts.js";
import { type LinkConnection, WriterThread } from "./writer-thread.js";

// Private copies for record(): V8 re-reads an imported binding from its module cell at every use.
const TYPE_LIMIT = MEMORY_TYPE_COUNT;
/**
 * Free ring slots a snapshot needs before it is taken: room for its frames (a larger one fails) while
 * every context definition still fits (RING_MARKER_ROOM covers both).
 */
const SNAPSHOT_ROOM_SLOTS = RING_MARKER_ROOM - MAX_CLIENT_CONTEXTS;
/**
 * At the end of a workload the flush timer keeps the process alive until the writer thread has handed
 * everything recorded to the kernel, as long as it makes progress: after this long without any, the
 * process may exit with the rest undelivered (a stalled server). ms.
 */
export const EXIT_DELIVERY_STALL_MS = 1000;
/** Most full batches record() lets accumulate before it wakes the writer thread. */
const WAKE_BATCHES = 8;

/**
 * Carries a process's allocator changes to the allocation server over a Unix socket.
 *
 * - `record()` is the allocation path: a few checks and one 48-byte slot stored into a SharedArrayBuffer
 *   ring (event-ring.ts). It never throws, never blocks and never touches the socket.
 * - A writer thread (one worker per client, ring-writer.ts) drains the ring into EVENTS frames and owns
 *   the socket: full batches are written when record() wakes it (every few batches), a partial one
 *   after `flushIntervalMs` (this thread's timer asks for it) or on flush(). While the socket is full the
 *   ring fills; it is the bounded queue (`maxQueueBytes`).
 * - When the ring is full, or there is no server, events are dropped and counted and the device is
 *   gated; once the server is reachable, a snapshot of the device (taken from the snapshot source on
 *   this thread, watermarked with the allocator's seq) is queued in the ring behind what was recorded
 *   before it, ahead of the device's later events.
 * - Reconnects with exponential backoff; every new connection resyncs every device (the server may be
 *   a new one that knows nothing).
 * - Never keeps the process alive on its own: the writer thread and retry timers are unref'd; the thread
 *   is ref'd only while flush() or close() wait, and the flush timer (ref'd, short) lets a workload that
 *   ends right after recording get its events to the kernel first.
 */
export class AllocationClient implements EventRecorder {
  readonly sessionId: string;
  /** Pass it with sessionId to this process's other clients (threads); never to another process. */
  readonly resumeSecret: string;
  readonly socketPath: string;
  private readonly options: ResolvedClientOptions;
  private readonly listeners: ClientListeners;
  /** Allocation contexts (version 3): interned texts, their frames, the contexts of live allocations. */
  private readonly contexts = new ClientContexts();
  /** link.contextsOn, held here so that record() reads it with one load. */
  private contextsOn = true;
  private readonly ring: EventRing;
  private readonly writer: EventRingWriter;
  /** The running writer thread; undefined before the first start and after one failed. */
  private thread: WriterThread | undefined;
  private readonly restarts = new WriterRestarts();
  /** Ordinal of the last frame handed to the writer thread for a ring marker (mod 2^32). */
  private frameOrdinal = 0;
  /** Ring position at the last wake of the writer for a full batch. */
  private wokenAt = 0;
  /** The exit-delivery keep-alive: the settled position last seen and since when it has not moved. */
  private settledSeen = 0;
  private settledSeenAtMs = 0;
  /** Snapshots wait for the writer (resyncAfter settled, ring room): it reports its progress until then. */
  private snapshotsWaitForRoom = false;
  /** Pending snapshots are taken once the writer has settled everything before this ring position. */
  private resyncAfter: number | undefined;
  private readonly devices: DeviceResyncState;
  /** devices.byId, held here so that record() reaches a track with one load, as before the split. */
  private readonly tracks: readonly (DeviceTrack | undefined)[];
  private readonly waiters = new FlushWaiters(() => {
    if (!this.snapshotsWaitForRoom) this.writer.wantSettled = false;
    if (this.currentState !== "closing") this.connection?.unref();
  });
  private readonly link: ClientLink;
  private readonly snapshots: SnapshotSender;
  private currentState: ClientState = "connecting";
  private connection: LinkConnection | undefined;
  private everWelcomed = false;
  private maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
  private batchLimit: number;
  /**
   * record() wakes the writer thread after this many events: several batches, up to a quarter of the
   * ring. Each wake is a context switch, and on a busy machine the writer then often runs on the
   * workload's core and evicts its caches; fewer, larger drains cost the workload's thread less. The
   * flush timer's partial request bounds the latency as before.
   */
  private wakeEvents: number;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushTimerArmed = false;
  private pumpScheduled = false;
  private closeDone: Promise<void> | undefined;
  private readonly stats = {
    sent: 0,
    dropped: 0,
    coveredBySnapshot: 0,
    invalid: 0,
    resyncRequests: 0,
    reconnects: 0,
    disconnects: 0,
  };
  private readonly tick = () => {
    this.flushTimerArmed = false;
    if (this.writer.position > this.writer.settled) {
      this.writer.requestPartial();
      if (this.deliveryProgressing()) this.armFlushTimer();
    } else {
      this.settledSeenAtMs = 0;
    }
    this.pump();
  };
  private readonly immediatePump = () => {
    this.pumpScheduled = false;
    this.pump();
  };

  /** Throws InvalidClientOptionError (code AWC_INVALID_OPTION) for bad options; never throws afterwards. */
  constructor(options: AllocationClientOptions) {
    this.options = resolveClientOptions(options);
    this.sessionId = this.options.sessionId;
    this.resumeSecret = this.options.resumeSecret;
    this.socketPath = this.options.socketPath;
    this.listeners = new ClientListeners(this.options.onError, this.options.onStateChange);
    this.batchLimit = this.options.batchMaxEvents;
    this.wakeEvents = this.batchLimit;
    // The ring is the bounded queue: maxQueueBytes of 48-byte events, plus room for markers.
    const queueEvents = Math.max(1, Math.floor(this.options.maxQueueBytes / EVENT_RECORD_BYTES));
    this.ring = EventRing.create(queueEvents + RING_MARKER_ROOM);
    this.writer = new EventRingWriter(this.ring, queueEvents, clientTestHooks.ringStartPosition);
    this.link = new ClientLink(
      this.options,
      this.contexts,
      {
        onWelcome: (frame) => this.handleWelcome(frame),
        onResyncRequest: (frame) => this.handleResyncRequest(frame),
        onClosed: (error) => this.handleClosed(error),
      },
      // connect() starts the writer thread before it opens a connection.
      (greeting, events) =>
        this.thread!.open(
          this.options.socketPath,
          greeting,
          this.options.handshakeTimeoutMs,
          this.writer.position,
          events,
        ),
    );
    this.devices = new DeviceResyncState(
      this.options.devices.map((d) => d.deviceId),
      this.options.snapshot !== undefined,
      () => {
        if (this.currentState === "ready") this.schedulePump();
      },
    );
    this.tracks = this.devices.byId;
    this.snapshots = new SnapshotSender({
      source: this.options.snapshot,
      retryMs: this.options.reconnectMaxMs,
      devices: this.devices,
      queue: { push: (frame) => this.pushFrame(frame) },
      waiters: this.waiters,
      listeners: this.listeners,
      state: () => this.currentState,
      contextOf: (deviceId, allocationId) =>
        this.contextsOn ? this.contexts.contextOf(deviceId, allocationId) : 0,
    });
    if (this.options.initialSnapshot) this.devices.gateAll();
    // The writer thread starts here, once nothing can throw any more (ClientLink encodes HELLO, which
    // checks the options); a thread that cannot start is reported, never thrown.
    this.connect();
  }

  get state(): ClientState {
    return this.currentState;
  }

  get counters(): ClientCounters {
    return {
      ...this.stats,
      sent: this.ring.sent,
      batches: this.ring.batches,
      invalid: this.stats.invalid + this.ring.invalid,
      repairedTimestamps: this.ring.repairedTimestamps,
      resyncs: this.snapshots.sent,
      errors: this.listeners.errors,
      writerFailures: this.restarts.total,
      queueBytes: this.writer.eventsQueued * EVENT_RECORD_BYTES,
    };
  }

  /** Devices that lost events since their last snapshot or are waiting for one, ascending. */
  dirtyDevices(): number[] {
    return this.devices.dirtyDevices();
  }

  /**
   * Records one allocator change. The hot path: allocation-free, never throws, never blocks.
   * Parameters in EventFields order; `op` 1 = ALLOC, 2 = FREE (EventOp, ChangeOp). `context`: what an
   * ALLOC is for (the operation that made it, e.g. "ttnn.matmul"; "" = none): defined once per text
   * (CONTEXT frame) and sent as a small id (protocol version 3; a server that speaks only version 2 gets
   * none). At most MAX_CLIENT_CONTEXTS texts; later new ones are sent without a context.
   */
  record(
    op: number,
    deviceId: number,
    memoryType: number,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    timestampNs: number,
    context = "",
  ): void {
    const track = this.tracks[deviceId] ?? this.devices.trackFor(deviceId);
    if (track === undefined) {
      this.stats.invalid++;
      return;
    }
    let contextId = 0;
    if (context !== "" && op === 1) contextId = this.contextIdOf(context);
    this.contexts.track(op, deviceId, allocationId, contextId);
    if (!this.contextsOn) contextId = 0;
    if (seq <= track.watermarkSeq) {
      this.stats.coveredBySnapshot++;
      return;
    }
    const state = this.currentState;
    if (track.gated || (state !== "ready" && state !== "connecting")) {
      this.lose(track, 1);
      return;
    }
    // The header fields are packed into one word, so only an op and memory type the wire knows enter the
    // ring; the writer thread checks the rest (integers in [0, 2^53), seq >= 1) as it encodes, and counts
    // what it refuses or repairs. Non-numbers would be converted by the Float64Array: refused here.
    if (
      !(
        (op === 1 || op === 2) &&
        memoryType >>> 0 === memoryType &&
        memoryType < TYPE_LIMIT &&
        typeof seq === "number" &&
        typeof allocationId === "number" &&
        typeof address === "number" &&
        typeof sizeBytes === "number" &&
        typeof timestampNs === "number"
      )
    ) {
      this.stats.invalid++;
      return;
    }
    if (
      !this.writer.append(
        op,
        deviceId,
        memoryType,
        seq,
        allocationId,
        address,
        sizeBytes,
        timestampNs,
        contextId,
      )
    ) {
      this.lose(track, 1);
      return;
    }
    if (this.writer.position - this.wokenAt >= this.wakeEvents) this.wakeForBatch();
    else if (!this.flushTimerArmed) this.armFlushTimer();
  }

  /** The id of a context text, queueing its definition ahead of the batch that will cite it. */
  private contextIdOf(context: string): number {
    const contextId = this.contexts.idOf(context);
    const fresh = this.contexts.takeFresh();
    // Without a connection the next one's preamble carries it (connect()).
    if (fresh !== undefined && this.contextsOn && this.connection !== undefined) this.pushFrame(fresh);
    return contextId;
  }

  /**
   * Resolves when everything recorded before the call has been handed to the kernel or dropped (and
   * counted), and every device that needed a snapshot at the call has had one handed over — or when
   * there is no server (it never waits for one to appear), or after `timeoutMs`. Never rejects.
   */
  flush(options: FlushOptions = {}): Promise<void> {
    const timeoutMs = flushTimeoutMs(options);
    const state = this.currentState;
    if (state === "closed" || state === "backoff" || this.connection === undefined) return Promise.resolve();
    this.waiters.enqueuedThrough(this.writer.position);
    // On before the settled position is read: the writer then reports every later one.
    this.writer.wantSettled = true;
    this.waiters.settledThrough(this.writer.settled);
    const devices = this.devices.pendingDevices();
    if (devices.size === 0 && this.waiters.drained) {
      if (this.waiters.count === 0 && !this.snapshotsWaitForRoom) this.writer.wantSettled = false;
      return Promise.resolve();
    }
    const flushed = this.waiters.add(devices, timeoutMs);
    this.connection?.ref();
    this.writer.requestPartial();
    this.schedulePump();
    return flushed;
  }

  /**
   * flush(), then GOODBYE (the server releases this connection's session memory at once if it was the
   * last) and end the connection. Events recorded afterwards are dropped. Never rejects; idempotent.
   */
  close(options: FlushOptions = {}): Promise<void> {
    if (this.closeDone === undefined) this.closeDone = this.closeNow(flushTimeoutMs(options));
    return this.closeDone;
  }

  private async closeNow(timeoutMs: number): Promise<void> {
    const started = Date.now();
    await this.flush({ timeoutMs });
    // Tracking was turned off (the writer thread kept failing): nothing is left to end.
    if (this.currentState === "closed") return;
    this.setState("closing");
    this.cancelTimers();
    const connection = this.connection;
    if (connection === undefined) {
      this.setState("closed");
      return;
    }
    await this.link.end(connection, Math.max(1, timeoutMs - (Date.now() - started)));
  }

  // ---- connection life cycle ----

  private connect(): void {
    if (this.thread === undefined && !this.startWriter()) {
      // Reported; tried again after the reconnect backoff, unless tracking is off now.
      if (this.currentState !== "closed") {
        this.setState("backoff");
        this.link.reconnectLater(() => this.connect(), false);
      }
      return;
    }
    this.setState("connecting");
    let connection: LinkConnection;
    try {
      connection = this.link.open();
    } catch (error) {
      // net.createConnection reports failures asynchronously; this only guards against the unexpected.
      this.listeners.report(new ConnectionFailedError(this.socketPath, error));
      this.handleClosed(undefined);
      return;
    }
    this.connection = connection;
    if (this.waiters.count > 0) connection.ref();
  }

  private handleWelcome(frame: WelcomeFrame): void {
    if (this.everWelcomed) this.stats.reconnects++;
    this.everWelcomed = true;
    this.maxFrameBytes = frame.maxFrameBytes;
    this.batchLimit = Math.min(this.options.batchMaxEvents, maxEventsPerFrame(frame.maxFrameBytes));
    this.wakeEvents = Math.max(
      this.batchLimit,
      Math.min(WAKE_BATCHES * this.batchLimit, Math.floor(this.writer.eventLimit / 4)),
    );
    if (this.currentState === "connecting") this.setState("ready");
    // What was recorded while connecting goes now, partial batch included.
    this.writer.requestPartial();
    this.pump();
  }

  private handleResyncRequest(frame: ResyncRequestFrame): void {
    this.stats.resyncRequests++;
    if (this.snapshots.resyncRequested(frame.deviceId, frame.reason)) this.schedulePump();
  }

  private handleClosed(error: ClientError | undefined): void {
    this.connection = undefined;
    this.stats.disconnects++;
    const closing = this.currentState === "closing" || this.currentState === "closed";
    // A server older than version 3 refusing our version is negotiation, not a failure (ClientLink).
    const olderServer = this.link.versionRefused(error);
    if (olderServer) this.contextsOn = false;
    else if (error !== undefined && !closing) this.listeners.report(error);
    // What the kernel did not get is gone, and a new server may know nothing: resync every device. The
    // writer thread stopped reading the ring when the connection closed, so what it holds is lost.
    // Frames the writer had taken but the kernel had not (settled < head) went with the connection too.
    const unsettled = this.writer.settled < this.writer.head;
    const lost = this.writer.discardUnread();
    this.stats.dropped += lost;
    this.devices.connectionLost(lost > 0 || unsettled);
    this.waiters.connectionLost();
    this.resyncAfter = undefined;
    this.thread?.unref();
    if (closing) {
      this.setState("closed");
      this.thread?.terminate();
      return;
    }
    this.setState("backoff");
    this.link.reconnectLater(() => this.connect(), olderServer);
  }

  // ---- the ring and the writer thread ----

  /** Hands a frame (CONTEXT, snapshot) to the writer thread and marks its place among the events. */
  private pushFrame(frame: Uint8Array): void {
    this.frameOrdinal = (this.frameOrdinal + 1) >>> 0;
    this.thread?.postFrame(this.frameOrdinal, frame);
    // Room for markers is kept apart from the events' bound (RING_MARKER_ROOM), and a snapshot is only
    // taken with room for its frames, so this holds; were it ever full, every device resyncs.
    if (!this.writer.appendMarker(this.frameOrdinal)) this.devices.loseOnEveryDevice(0);
    this.waiters.enqueuedThrough(this.writer.position);
    this.writer.wake();
  }

  private wakeForBatch(): void {
    this.wokenAt = this.writer.position;
    this.writer.wake();
  }

  private handleSettled(position: number): void {
    this.waiters.settledThrough(position);
    if (this.waiters.count > 0) this.waiters.settle();
    if (this.snapshotsWaitForRoom) this.pump();
  }

  /**
   * Starts a writer thread; false when `new Worker` throws (reported as a writer failure). A thread that
   * fails later, as it starts or as it runs, comes back through handleWriterFailed.
   */
  private startWriter(): boolean {
    this.restarts.starting(Date.now());
    try {
      const thread: WriterThread = new WriterThread(
        this.ring,
        this.options.batchMaxEvents,
        (position) => this.handleSettled(position),
        (error) => {
          if (this.thread === thread) this.handleWriterFailed(error);
        },
      );
      this.thread = thread;
      return true;
    } catch (error) {
      this.handleWriterFailed(error);
      return false;
    }
  }

  /**
   * The writer thread ended (it should not). The workload is not touched: record() only ever wrote into
   * the ring. Every device is marked for a snapshot now (the thread's connection closes next, taking what
   * the thread held: handleClosed), and a new thread is started at the next connection attempt, after
   * the reconnect backoff; after MAX_WRITER_RESTARTS restarts in a row (writer-restarts.ts) tracking is off.
   */
  private handleWriterFailed(error: unknown): void {
    this.thread = undefined;
    const closing = this.currentState === "closing" || this.currentState === "closed";
    const { failures, restart } = this.restarts.failed(Date.now(), closing);
    this.devices.connectionLost(false);
    if (!restart && !closing) {
      // Tracking off: handleClosed (the connection's end, if there was one) then finds the client closed.
      this.setState("closed");
      this.cancelTimers();
      this.stats.dropped += this.writer.discardUnread();
    }
    this.listeners.report(new WriterFailedError(error, failures, restart));
  }

  /**
   * True while the writer's settled position moved within EXIT_DELIVERY_STALL_MS and the client is
   * connecting or ready (what is recorded while connecting goes after WELCOME).
   */
  private deliveryProgressing(): boolean {
    if (this.currentState !== "ready" && this.currentState !== "connecting") return false;
    const settled = this.writer.settled;
    const now = Date.now();
    if (settled !== this.settledSeen || this.settledSeenAtMs === 0) {
      this.settledSeen = settled;
      this.settledSeenAtMs = now;
      return true;
    }
    return now - this.settledSeenAtMs < EXIT_DELIVERY_STALL_MS;
  }

  private armFlushTimer(): void {
    this.flushTimerArmed = true;
    // One timer object for the client's life: refresh() re-arms it without allocating. It stays ref'd
    // because it is short: a workload that ends right after recording still gets its events handed to
    // the kernel (the tick re-arms it while the writer thread makes progress).
    if (this.flushTimer === undefined) this.flushTimer = setTimeout(this.tick, this.options.flushIntervalMs);
    else this.flushTimer.refresh();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(this.immediatePump);
  }

  /**
   * Takes pending snapshots once the writer thread has handed everything recorded before them to the
   * kernel (as the queue had to be empty before: a stalled server gets one snapshot after it reads
   * again, not one per overflow), with ring room for their frames; releases settled flush waiters.
   */
  private pump(): void {
    const connection = this.connection;
    if (connection === undefined || !connection.isWelcomed) return;
    this.snapshotsWaitForRoom = false;
    if (this.currentState === "ready" && this.devices.resyncWaiting) {
      if (this.resyncAfter === undefined) {
        this.resyncAfter = this.writer.position;
        this.writer.requestPartial();
      }
      this.writer.wantSettled = true;
      if (
        this.writer.settled < this.resyncAfter ||
        this.ring.slotCount - this.writer.used < SNAPSHOT_ROOM_SLOTS
      ) {
        // The writer's reports of what it settled bring the pump back.
        this.snapshotsWaitForRoom = true;
      } else {
        this.resyncAfter = undefined;
        for (let track = this.devices.takeNextResync(); track !== undefined; ) {
          this.snapshots.send(track, this.maxFrameBytes);
          track = this.devices.takeNextResync();
        }
      }
    }
    if (this.waiters.count > 0) {
      this.waiters.settledThrough(this.writer.settled);
      this.waiters.settle();
    }
    if (!this.snapshotsWaitForRoom && this.waiters.count === 0) this.writer.wantSettled = false;
  }

  /** Counts `events` dropped for `track`; the resync state gates the device when a snapshot can heal it. */
  private lose(track: DeviceTrack, events: number): void {
    this.stats.dropped += events;
    this.devices.lose(track, events);
  }

  // ---- state, errors, timers ----

  private setState(state: ClientState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    this.listeners.stateChanged(state);
  }

  private cancelTimers(): void {
    this.link.cancel();
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.snapshots.cancel();
    this.flushTimerArmed = false;
  }
}
