/**
 * Time as the server's policies see it, injected so that tests drive gap timeouts, grace periods and
 * sweeps with a fake clock instead of sleeping.
 */
export interface TimerScheduler {
  /** Calls `callback` once after `delayMs`; returns a handle for `clear`. Never keeps the process alive. */
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
  /** Monotonic milliseconds. */
  nowMs(): number;
}

/** The real clock: unref'd timers (a pending gap timeout must not keep a closing server alive). */
export const systemTimers: TimerScheduler = {
  set(callback, delayMs) {
    const timer = setTimeout(callback, delayMs);
    timer.unref();
    return timer;
  },
  clear(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
  nowMs: () => performance.now(),
};

/**
 * A hand-driven clock for tests: `advance(ms)` fires due callbacks in time order.
 */
export class ManualTimers implements TimerScheduler {
  private now = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  set(callback: () => void, delayMs: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { at: this.now + delayMs, callback });
    return id;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  nowMs(): number {
    return this.now;
  }

  /** Timers scheduled and not yet fired or cleared. */
  get pendingCount(): number {
    return this.pending.size;
  }

  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let dueId = -1;
      let dueAt = Number.POSITIVE_INFINITY;
      for (const [id, timer] of this.pending) {
        if (timer.at <= end && timer.at < dueAt) {
          dueAt = timer.at;
          dueId = id;
        }
      }
      if (dueId < 0) break;
      const timer = this.pending.get(dueId)!;
      this.pending.delete(dueId);
      this.now = Math.max(this.now, timer.at);
      timer.callback();
    }
    this.now = end;
  }
}
