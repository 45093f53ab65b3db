import { ALL_DEVICES } from "../protocol/frames.js";

/** What the client knows about one device's stream. Read-only outside DeviceResyncState. */
export interface DeviceTrack {
  readonly deviceId: number;
  /**
   * Events of this device are dropped until its next snapshot is taken: they would reach the server
   * after a gap anyway, and the snapshot will contain their effect. Only set when a snapshot source exists.
   */
  readonly gated: boolean;
  /** Waiting in the resync queue for a snapshot. */
  readonly resyncPending: boolean;
  /** Events with seq <= this are covered by the last snapshot sent. */
  readonly watermarkSeq: number;
  /** Events lost since the last snapshot (observability; without a source this never heals). */
  readonly lostEvents: number;
}

/** The module's own view. TypeScript lets a readonly DeviceTrack be assigned to it, so no cast is needed. */
type Track = { -readonly [K in keyof DeviceTrack]: DeviceTrack[K] };

/**
 * Per device: what was lost, what the last snapshot covers, and which devices wait for a snapshot, in
 * the order they asked. Decides what must be resent by snapshot; taking and sending snapshots is the
 * client's. Loss heals only when the client has a snapshot source (`healable`).
 */
export class DeviceResyncState {
  /**
   * Indexed by device id (sparse). The client's record() reads it directly: one array load per event,
   * no call.
   */
  readonly byId: readonly (DeviceTrack | undefined)[];
  private readonly tracks: (Track | undefined)[] = [];
  private readonly list: Track[] = [];
  private readonly queue: number[] = [];

  /**
   * `deviceIds`: the devices the client's HELLO announces, the only ones it may report (the server
   * closes a connection that names another). `onResyncRequested` runs whenever a device joins the
   * resync queue.
   */
  constructor(
    deviceIds: readonly number[],
    private readonly healable: boolean,
    private readonly onResyncRequested: () => void,
  ) {
    this.byId = this.tracks;
    for (const deviceId of deviceIds) {
      if (!Number.isInteger(deviceId) || deviceId < 0 || deviceId >= ALL_DEVICES) continue;
      if (this.tracks[deviceId] !== undefined) continue;
      const track: Track = { deviceId, gated: false, resyncPending: false, watermarkSeq: 0, lostEvents: 0 };
      this.tracks[deviceId] = track;
      this.list.push(track);
    }
  }

  /** The track of an announced device; undefined for any other id (record() counts it invalid). */
  trackFor(deviceId: number): DeviceTrack | undefined {
    return Number.isInteger(deviceId) && deviceId >= 0 ? this.tracks[deviceId] : undefined;
  }

  /** Devices that lost events since their last snapshot or are waiting for one, ascending. */
  dirtyDevices(): number[] {
    return this.list
      .filter((t) => t.gated || t.lostEvents > 0)
      .map((t) => t.deviceId)
      .sort((a, b) => a - b);
  }

  /** Devices waiting in the resync queue. */
  pendingDevices(): Set<number> {
    const devices = new Set<number>();
    for (const track of this.list) if (track.resyncPending) devices.add(track.deviceId);
    return devices;
  }

  /** Counts `events` lost for `track` and, when a snapshot can heal it, gates it until one is sent. */
  lose(track: DeviceTrack, events: number): void {
    const t: Track = track;
    t.lostEvents += events;
    if (this.healable && !t.gated) this.gate(t);
  }

  /** lose() for every device: an event went missing whose device is not known. */
  loseOnEveryDevice(events: number): void {
    for (const track of this.list) this.lose(track, events);
  }

  /** Gates every device and asks for its snapshot (the server is new, or knows nothing yet). */
  gateAll(): void {
    for (const track of this.list) this.gate(track);
  }

  /**
   * The connection is gone: what the kernel did not get is lost and a new server may know nothing, so
   * every device resyncs; without a source, devices record a loss when `eventsLost`.
   */
  connectionLost(eventsLost: boolean): void {
    if (this.healable) this.gateAll();
    else if (eventsLost) for (const track of this.list) track.lostEvents++;
  }

  /** Queues a snapshot of the device (ALL_DEVICES: of every device) without gating it. */
  requestResyncOf(deviceId: number): void {
    if (deviceId === ALL_DEVICES) {
      for (const track of this.list) this.requestResync(track);
    } else {
      const track = this.trackFor(deviceId);
      if (track !== undefined) this.requestResync(track);
    }
  }

  requestResync(track: DeviceTrack): void {
    const t: Track = track;
    if (t.resyncPending) return;
    t.resyncPending = true;
    this.queue.push(t.deviceId);
    this.onResyncRequested();
  }

  /** A device waits in the resync queue. */
  get resyncWaiting(): boolean {
    return this.queue.length > 0;
  }

  /** The next device to snapshot, taken off the queue; undefined when none waits. */
  takeNextResync(): DeviceTrack | undefined {
    if (this.queue.length === 0) return undefined;
    const track = this.tracks[this.queue.shift()!]!;
    track.resyncPending = false;
    return track;
  }

  /**
   * Leaves the device's pending mark off (its id may still be queued): a failed snapshot that comes
   * due while there is no connection waits for the next connection's resync of every device.
   */
  clearPending(track: DeviceTrack): void {
    const t: Track = track;
    t.resyncPending = false;
  }

  /** The device's snapshot at `seq` is queued: it is clean, and events up to `seq` are covered. */
  snapshotEnqueued(track: DeviceTrack, seq: number): void {
    const t: Track = track;
    t.watermarkSeq = Math.max(t.watermarkSeq, seq);
    t.gated = false;
    t.lostEvents = 0;
  }

  private gate(track: Track): void {
    track.gated = true;
    this.requestResync(track);
  }
}
