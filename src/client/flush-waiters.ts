interface FlushWaiter {
  /** Settled when the settled-frame count reaches this frame ordinal... */
  targetFrame: number;
  /** ...and each of these devices has had its snapshot enqueued. */
  devices: Set<number>;
  resolve: () => void;
  timer: NodeJS.Timeout;
}

/**
 * The pending flush() calls and the frame counts they wait on. Frames settle in queue order (handed to
 * the kernel or dropped), so a waiter only needs the ordinal of the last frame enqueued before it. A
 * device snapshot enqueued for a waiter moves its target past the snapshot's frames. Every waiter is
 * released by its timeout at the latest; none is ever rejected.
 */
export class FlushWaiters {
  private readonly waiting: FlushWaiter[] = [];
  /** Frames enqueued since construction (ordinal of the last one). */
  private enqueuedFrames = 0;
  /** Frames handed to the kernel or dropped, in queue order. */
  private settledFrames = 0;

  /** `onAllReleased` runs each time the last pending waiter is released (the socket may be unref'd). */
  constructor(private readonly onAllReleased: () => void) {}

  /** Pending waiters. */
  get count(): number {
    return this.waiting.length;
  }

  /** Every frame enqueued so far has settled. */
  get drained(): boolean {
    return this.settledFrames >= this.enqueuedFrames;
  }

  frameEnqueued(): void {
    this.enqueuedFrames++;
  }

  /** Everything up to ordinal `position` has been enqueued (the client's ring: its write position). */
  enqueuedThrough(position: number): void {
    if (position > this.enqueuedFrames) this.enqueuedFrames = position;
  }

  /** Everything up to ordinal `position` has settled (the ring's settled position). */
  settledThrough(position: number): void {
    if (position > this.settledFrames) this.settledFrames = Math.min(position, this.enqueuedFrames);
  }

  /** The oldest unsettled frame reached the kernel or was dropped; settle() releases who waited for it. */
  frameSettled(): void {
    this.settledFrames++;
  }

  /** The connection is gone with every unsettled frame: nothing is left to wait for. */
  connectionLost(): void {
    this.settledFrames = this.enqueuedFrames;
    this.releaseAll();
  }

  /**
   * Resolves once every frame enqueued so far has settled and every device in `devices` has had its
   * snapshot enqueued (or given up on), or after `timeoutMs`.
   */
  add(devices: Set<number>, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiter: FlushWaiter = {
        targetFrame: this.enqueuedFrames,
        devices,
        resolve,
        timer: setTimeout(() => this.release(waiter), timeoutMs),
      };
      this.waiting.push(waiter);
    });
  }

  /** Releases every waiter whose frames are all settled and whose devices all have their snapshot. */
  settle(): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const waiter = this.waiting[i];
      if (waiter.devices.size === 0 && this.settledFrames >= waiter.targetFrame) this.release(waiter);
    }
  }

  /** The device's snapshot frames were just enqueued: waiters for the device now wait for them. */
  snapshotEnqueued(deviceId: number): void {
    for (const waiter of this.waiting) {
      if (waiter.devices.delete(deviceId))
        waiter.targetFrame = Math.max(waiter.targetFrame, this.enqueuedFrames);
    }
  }

  /** The device's snapshot failed: waiters stop waiting for it (a retry comes much later). */
  snapshotFailed(deviceId: number): void {
    for (const waiter of this.waiting) waiter.devices.delete(deviceId);
  }

  private releaseAll(): void {
    while (this.waiting.length > 0) this.release(this.waiting[0]);
  }

  private release(waiter: FlushWaiter): void {
    const at = this.waiting.indexOf(waiter);
    if (at < 0) return;
    this.waiting.splice(at, 1);
    clearTimeout(waiter.timer);
    waiter.resolve();
    if (this.waiting.length === 0) this.onAllReleased();
  }
}
