// record(), the pump and the connection callbacks share the batch, queue and connection state, so they
// stay together (a split would put a hop on record()'s per-event path). The connection life cycle (HELLO,
// version fallback, reconnect backoff: client-link.ts), resync state, flush waiters, snapshot sending and
// the workload's callbacks live apart.
import { EventBatchEncoder } from "../protocol/event-batch-encoder.js";
import { DEFAULT_MAX_FRAME_BYTES, type ResyncRequestFrame, type WelcomeFrame } from "../protocol/frames.js";
import { EVENT_RECORD_BYTES, LENGTH_FIELD_BYTES, maxEventsPerFrame } from "../protocol/layout.js";
import { ClientContexts } from "./client-contexts.js";
import { ClientLink } from "./client-link.js";
import { ClientListeners } from "./client-listeners.js";
import type { Connection } from "./connection.js";
import { DeviceResyncState, type DeviceTrack } from "./device-resync-state.js";
import { type ClientError, ConnectionFailedError } from "./errors.js";
import { FlushWaiters } from "./flush-waiters.js";
import { FrameQueue } from "./frame-queue.js";
import { flushTimeoutMs, type ResolvedClientOptions, resolveClientOptions } from "./options.js";
import { SnapshotSender } from "./snapshot-sender.js";
import type {
  AllocationClientOptions,
  ClientCounters,
  ClientState,
  EventRecorder,
  FlushOptions,
} from "./types.js";

/** Private copy for record(): V8 re-reads an imported binding from its module cell at every use. */
const RECORD_BYTES = EVENT_RECORD_BYTES;

/**
 * Carries a process's allocator changes to the allocation server over a Unix socket.
 *
 * - `record()` is the allocation path: a few checks and one 48-byte record write into the current
 *   batch. It never throws, never blocks and never touches the socket.
 * - Batches are written from a timer (`flushIntervalMs`) or, when a batch fills, from setImmediate,
 *   respecting socket backpressure: while the socket is full, events wait in a bounded queue.
 * - When the queue is full, or there is no server, events are dropped and counted and the device is
 *   gated; once the server is reachable and the queue has drained, a snapshot of the device (taken from
 *   the snapshot source, watermarked with the allocator's seq) is sent before its later events.
 * - Reconnects with exponential backoff; every new connection resyncs every device (the server may be
 *   a new one that knows nothing).
 * - Never keeps the process alive on its own: the socket and retry timers are unref'd; the socket is
 *   ref'd only while flush() or close() wait.
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
  private readonly encoder: EventBatchEncoder;
  private readonly queue = new FrameQueue();
  private readonly devices: DeviceResyncState;
  /** devices.byId, held here so that record() reaches a track with one load, as before the split. */
  private readonly tracks: readonly (DeviceTrack | undefined)[];
  private readonly waiters = new FlushWaiters(() => {
    if (this.currentState !== "closing") this.connection?.unref();
  });
  private readonly link: ClientLink;
  private readonly snapshots: SnapshotSender;
  private currentState: ClientState = "connecting";
  private connection: Connection | undefined;
  private socketWritable = false;
  private everWelcomed = false;
  private maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
  private batchLimit: number;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushTimerArmed = false;
  private pumpScheduled = false;
  /**
   * Frames passed to the connection whose write callback has not come yet, in write order (undefined for
   * frames the encoder does not reuse). Their bytes belong to the socket until then.
   */
  private writing: (Uint8Array | undefined)[] = [];
  private closeDone: Promise<void> | undefined;
  private readonly stats = {
    sent: 0,
    dropped: 0,
    coveredBySnapshot: 0,
    invalid: 0,
    repairedTimestamps: 0,
    resyncRequests: 0,
    reconnects: 0,
    disconnects: 0,
    batches: 0,
  };
  private readonly tick = () => {
    this.flushTimerArmed = false;
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
    this.encoder = new EventBatchEncoder(this.options.batchMaxEvents);
    this.batchLimit = this.options.batchMaxEvents;
    this.link = new ClientLink(this.options, this.contexts, {
      onWelcome: (frame) => this.handleWelcome(frame),
      onResyncRequest: (frame) => this.handleResyncRequest(frame),
      onDrain: () => {
        this.socketWritable = true;
        this.pump();
      },
      onWritten: () => {
        const frame = this.writing.shift();
        if (frame !== undefined) this.encoder.recycle(frame);
        this.waiters.frameSettled();
        if (this.waiters.count > 0) this.waiters.settle();
      },
      onClosed: (error) => this.handleClosed(error),
    });
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
      queue: this.queue,
      waiters: this.waiters,
      listeners: this.listeners,
      state: () => this.currentState,
      contextOf: (deviceId, allocationId) =>
        this.contextsOn ? this.contexts.contextOf(deviceId, allocationId) : 0,
    });
    if (this.options.initialSnapshot) this.devices.gateAll();
    this.connect();
  }

  get state(): ClientState {
    return this.currentState;
  }

  get counters(): ClientCounters {
    return {
      ...this.stats,
      resyncs: this.snapshots.sent,
      errors: this.listeners.errors,
      queueBytes: this.queue.eventBytes + this.encoder.count * EVENT_RECORD_BYTES,
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
    if (
      track.gated ||
      (state !== "ready" && state !== "connecting") ||
      this.queue.eventBytes + (this.encoder.count + 1) * RECORD_BYTES > this.options.maxQueueBytes
    ) {
      this.lose(track, 1);
      return;
    }
    try {
      this.encoder.append(
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
      // The encoder refuses values the wire cannot carry, so a frame we send always decodes. The
      // timestamp is informative, the rest is identity: an event whose only fault is a clock outside
      // [0, 2^53) ns (epoch-based ns) is sent with timestamp 0, a fractional one rounded down, rather than
      // lost, which would leave a gap.
      const repaired = timestampNs >= 0 && timestampNs < 2 ** 53 ? Math.floor(timestampNs) : 0;
      try {
        this.encoder.append(
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
        this.stats.invalid++;
        return;
      }
      this.stats.repairedTimestamps++;
    }
    if (this.encoder.count >= this.batchLimit) {
      this.sealBatch();
      this.schedulePump();
    } else if (!this.flushTimerArmed) {
      this.armFlushTimer();
    }
  }

  /** The id of a context text, queueing its definition ahead of the batch that will cite it. */
  private contextIdOf(context: string): number {
    const contextId = this.contexts.idOf(context);
    const fresh = this.contexts.takeFresh();
    // Without a connection the next one's preamble carries it (connect()).
    if (fresh !== undefined && this.contextsOn && this.connection !== undefined) {
      this.queue.push(fresh, 0);
      this.waiters.frameEnqueued();
    }
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
    if (this.encoder.count > 0) this.sealBatch();
    const devices = this.devices.pendingDevices();
    if (devices.size === 0 && this.waiters.drained) return Promise.resolve();
    const flushed = this.waiters.add(devices, timeoutMs);
    this.connection?.ref();
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
    this.setState("connecting");
    this.socketWritable = false;
    let connection: Connection;
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
    this.socketWritable = true;
    if (this.currentState === "connecting") this.setState("ready");
    this.pump();
  }

  private handleResyncRequest(frame: ResyncRequestFrame): void {
    this.stats.resyncRequests++;
    if (this.snapshots.resyncRequested(frame.deviceId, frame.reason)) this.schedulePump();
  }

  private handleClosed(error: ClientError | undefined): void {
    this.connection = undefined;
    this.socketWritable = false;
    this.writing = [];
    this.stats.disconnects++;
    const closing = this.currentState === "closing" || this.currentState === "closed";
    // A server older than version 3 refusing our version is negotiation, not a failure (ClientLink).
    const olderServer = this.link.versionRefused(error);
    if (olderServer) this.contextsOn = false;
    else if (error !== undefined && !closing) this.listeners.report(error);
    // What the kernel did not get is gone, and a new server may know nothing: resync every device.
    const lost = this.queue.clear();
    const pending = this.encoder.count;
    this.encoder.reset();
    this.stats.dropped += lost.events + pending;
    this.devices.connectionLost(lost.events + pending > 0);
    this.waiters.connectionLost();
    if (closing) {
      this.setState("closed");
      return;
    }
    this.setState("backoff");
    this.link.reconnectLater(() => this.connect(), olderServer);
  }

  // ---- batching and writing ----

  private sealBatch(): void {
    const events = this.encoder.count;
    this.queue.push(this.encoder.finish(), events);
    this.waiters.frameEnqueued();
  }

  private armFlushTimer(): void {
    this.flushTimerArmed = true;
    // One timer object for the client's life: refresh() re-arms it without allocating. It stays ref'd
    // because it is short and one-shot: a workload that ends right after recording still gets its
    // last batch handed to the kernel.
    if (this.flushTimer === undefined) this.flushTimer = setTimeout(this.tick, this.options.flushIntervalMs);
    else this.flushTimer.refresh();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(this.immediatePump);
  }

  /** Writes queued frames while the socket accepts them; takes pending snapshots once the queue is empty. */
  private pump(): void {
    const connection = this.connection;
    if (connection === undefined || !connection.isWelcomed) return;
    if (this.encoder.count > 0) this.sealBatch();
    while (this.socketWritable) {
      const frame = this.queue.peek();
      if (frame !== undefined) {
        const events = this.queue.peekEventCount();
        this.queue.shift();
        if (frame.length - LENGTH_FIELD_BYTES > this.maxFrameBytes) {
          // Sealed before WELCOME announced a smaller limit: the server would reject it.
          this.dropOversized(events);
          continue;
        }
        if (events > 0) {
          this.stats.sent += events;
          this.stats.batches++;
        }
        this.writing.push(events > 0 ? frame : undefined);
        this.socketWritable = connection.write(frame);
        continue;
      }
      const track = this.currentState === "ready" ? this.devices.takeNextResync() : undefined;
      if (track !== undefined) {
        this.snapshots.send(track, this.maxFrameBytes);
        continue;
      }
      break;
    }
    if (this.waiters.count > 0) this.waiters.settle();
  }

  private dropOversized(events: number): void {
    this.stats.dropped += events;
    this.waiters.frameSettled();
    this.devices.loseOnEveryDevice(0);
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
