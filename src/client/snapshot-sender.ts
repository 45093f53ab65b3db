import type { ClientListeners } from "./client-listeners.js";
import type { DeviceResyncState, DeviceTrack } from "./device-resync-state.js";
import { SnapshotFailedError } from "./errors.js";
import type { FlushWaiters } from "./flush-waiters.js";
import { takeSnapshotFrames } from "./snapshot-frames.js";
import type { ClientState, SnapshotSource } from "./types.js";

/** Where snapshot frames go, in order behind everything recorded before (the client's ring). */
export interface FrameSink {
  /** Queues one frame carrying `eventCount` events (snapshot frames: 0); the sink tells the flush waiters. */
  push(frame: Uint8Array, eventCount: number): void;
}

export interface SnapshotSenderDeps {
  source: SnapshotSource | undefined;
  /** How long a failing source waits before it is asked again, ms (the slowest reconnect pace). */
  retryMs: number;
  devices: DeviceResyncState;
  queue: FrameSink;
  waiters: FlushWaiters;
  listeners: ClientListeners;
  /** The client's state now: a retry only re-queues the device while the client is ready. */
  state: () => ClientState;
  /** The context id of a live allocation (0 = none, or a connection without contexts). */
  contextOf?: (deviceId: number, allocationId: number) => number;
}

/**
 * The client's snapshot path: takes a device's snapshot from the source, queues its frames behind
 * everything already written, and retries a failing source later: it must not spin, nor be given up.
 */
export class SnapshotSender {
  /** Snapshots handed to the queue (ClientCounters.resyncs). */
  sent = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: SnapshotSenderDeps) {}

  /** Takes the device's snapshot now, for a server whose frame limit is `maxFrameBytes`. */
  send(track: DeviceTrack, maxFrameBytes: number): void {
    const { devices, queue, waiters } = this.deps;
    const deviceId = track.deviceId;
    let snapshot: { seq: number; frames: Uint8Array[] };
    try {
      const contextOf = this.deps.contextOf;
      snapshot = takeSnapshotFrames(
        this.deps.source,
        deviceId,
        maxFrameBytes,
        contextOf === undefined ? undefined : (allocationId) => contextOf(deviceId, allocationId),
      );
    } catch (error) {
      this.deps.listeners.report(new SnapshotFailedError(deviceId, error));
      waiters.snapshotFailed(deviceId);
      this.retryLater(track);
      return;
    }
    for (const frame of snapshot.frames) queue.push(frame, 0);
    devices.snapshotEnqueued(track, snapshot.seq);
    this.sent++;
    waiters.snapshotEnqueued(deviceId);
  }

  /**
   * The server asked for a snapshot of `deviceId` (RESYNC_REQUEST, `reason` as it gave it): marks the
   * device for one, or reports SnapshotFailedError without a source. True when one is now pending.
   */
  resyncRequested(deviceId: number, reason: string): boolean {
    if (this.deps.source === undefined) {
      this.deps.listeners.report(
        new SnapshotFailedError(
          deviceId,
          new Error(`server asked for a resync (${reason}) but no snapshot source is set`),
        ),
      );
      return false;
    }
    this.deps.devices.requestResyncOf(deviceId);
    return true;
  }

  /** Stops a pending retry (the client is closing). */
  cancel(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private retryLater(track: DeviceTrack): void {
    if (this.retryTimer !== undefined) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      const state = this.deps.state();
      if (state === "ready") this.deps.devices.requestResync(track);
      else if (state !== "closed" && state !== "closing") this.deps.devices.clearPending(track);
    }, this.deps.retryMs);
    this.retryTimer.unref();
  }
}
