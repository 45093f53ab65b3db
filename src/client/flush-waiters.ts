import type { FlushOptions } from "./types.js";

export const DEFAULT_FLUSH_TIMEOUT_MS = 5000;
/** setTimeout's largest delay; a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The wait that flush() and close() allow: `timeoutMs` when it is a positive number, else the default. */
export function flushTimeoutMs(options: FlushOptions): number {
  const timeoutMs = options?.timeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS;
  return Number.isFinite(timeoutMs) && timeoutMs > 0
    ? Math.min(timeoutMs, MAX_TIMER_MS)
    : DEFAULT_FLUSH_TIMEOUT_MS;
}

interface FlushWaiter {
  /** Settled when the settled-frame count reaches this frame ordinal... */
  targetFrame: number;
  /** ...and each of these devices has had its snapshot enqueued. */
  devices: Set<number>;
  resolve: () => void;
  timer: NodeJS.Timeout;
}

/**
 * The pending flush() calls. Frames are counted by ordinal (the client numbers every frame it enqueues
 * and counts those handed to the kernel or dropped, in queue order), so a waiter only needs the ordinal
 * of the last frame it waits for. A device snapshot enqueued for a waiter moves its target past the
 * snapshot's frames. Every waiter is released by its timeout at the latest; none is ever rejected.
 */
export class FlushWaiters {
  private readonly waiting: FlushWaiter[] = [];

  /** `onAllReleased` runs each time the last pending waiter is released (the socket may be unref'd). */
  constructor(private readonly onAllReleased: () => void) {}

  /** Pending waiters. */
  get count(): number {
    return this.waiting.length;
  }

  /**
   * Resolves once `settle()` has reported `targetFrame` settled and every device in `devices` has had its
   * snapshot enqueued (or given up on), or after `timeoutMs`.
   */
  add(targetFrame: number, devices: Set<number>, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiter: FlushWaiter = {
        targetFrame,
        devices,
        resolve,
        timer: setTimeout(() => this.release(waiter), timeoutMs),
      };
      this.waiting.push(waiter);
    });
  }

  /** Releases every waiter whose frames are all settled and whose devices all have their snapshot. */
  settle(settledFrames: number): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const waiter = this.waiting[i];
      if (waiter.devices.size === 0 && settledFrames >= waiter.targetFrame) this.release(waiter);
    }
  }

  /** The device's snapshot was queued, its last frame being ordinal `lastFrame`: waiters for it wait for that. */
  snapshotEnqueued(deviceId: number, lastFrame: number): void {
    for (const waiter of this.waiting) {
      if (waiter.devices.delete(deviceId)) waiter.targetFrame = Math.max(waiter.targetFrame, lastFrame);
    }
  }

  /** The device's snapshot failed: waiters stop waiting for it (a retry comes much later). */
  snapshotFailed(deviceId: number): void {
    for (const waiter of this.waiting) waiter.devices.delete(deviceId);
  }

  releaseAll(): void {
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
