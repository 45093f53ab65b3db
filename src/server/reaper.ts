import type { ProcessLiveness } from "./process-liveness.js";
import type { Session } from "./session.js";
import type { SessionTable } from "./session-table.js";
import type { TimerScheduler } from "./timers.js";

export interface ReaperOptions {
  /** How long an idle session of a live process may take to reconnect and resync, ms. */
  graceMs: number;
  /** Period of the liveness sweep over every session (backstop), ms. */
  sweepIntervalMs: number;
  /** First re-check of an idle session's process, ms; doubles up to 200 ms until the grace ends. */
  firstRecheckMs: number;
}

export const DEFAULT_REAPER_OPTIONS: ReaperOptions = {
  graceMs: 2000,
  sweepIntervalMs: 1000,
  firstRecheckMs: 20,
};

const MAX_RECHECK_MS = 200;

/**
 * Decides when a session's memory is released (docs/DESIGN.md invariant 5):
 * - its last connection closed after GOODBYE, or its process is gone → at once;
 * - otherwise the process gets `graceMs` to reconnect (and resync), then the memory is released.
 * A SIGKILLed process closes its sockets *before* it becomes a zombie, so at the moment the server sees
 * the close, /proc may still show it running. Idle sessions are therefore re-checked at short, growing
 * intervals during the grace period, which bounds "killed → released" to a few tens of ms.
 * A periodic sweep checks every session's process as a backstop (e.g. a forked child kept the socket).
 */
export class Reaper {
  private readonly watches = new Map<Session, { timer: unknown; idleSinceMs: number; nextDelayMs: number }>();
  private sweepTimer: unknown;
  private stopped = false;

  constructor(
    private readonly sessions: SessionTable,
    private readonly liveness: ProcessLiveness,
    private readonly timers: TimerScheduler,
    private readonly options: ReaperOptions,
  ) {
    sessions.listen({
      idle: (session) => this.onIdle(session),
      reattached: (session) => this.unwatch(session),
      released: (session) => this.unwatch(session),
    });
  }

  start(): void {
    this.scheduleSweep();
  }

  stop(): void {
    this.stopped = true;
    if (this.sweepTimer !== undefined) this.timers.clear(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const session of [...this.watches.keys()]) this.unwatch(session);
  }

  /** Checks every session now; returns how many were released. */
  sweep(): number {
    let released = 0;
    for (const session of [...this.sessions.values()]) {
      if (!this.isAlive(session)) {
        this.sessions.release(session, "process-exited");
        released++;
      }
    }
    return released;
  }

  private onIdle(session: Session): void {
    if (this.stopped) return;
    if (session.goodbyeReceived) {
      this.sessions.release(session, "goodbye");
      return;
    }
    if (!this.isAlive(session)) {
      this.sessions.release(session, "process-exited");
      return;
    }
    this.unwatch(session);
    const watch = {
      timer: undefined as unknown,
      idleSinceMs: this.timers.nowMs(),
      nextDelayMs: this.options.firstRecheckMs,
    };
    this.watches.set(session, watch);
    this.scheduleRecheck(session, watch);
  }

  private scheduleRecheck(
    session: Session,
    watch: { timer: unknown; idleSinceMs: number; nextDelayMs: number },
  ): void {
    const remaining = watch.idleSinceMs + this.options.graceMs - this.timers.nowMs();
    const delay = Math.max(0, Math.min(watch.nextDelayMs, remaining));
    watch.nextDelayMs = Math.min(watch.nextDelayMs * 2, MAX_RECHECK_MS);
    watch.timer = this.timers.set(() => {
      watch.timer = undefined;
      if (this.watches.get(session) !== watch || session.isReleased || session.connectionCount > 0) return;
      if (!this.isAlive(session)) {
        this.sessions.release(session, "process-exited");
      } else if (this.timers.nowMs() - watch.idleSinceMs >= this.options.graceMs) {
        this.sessions.release(session, "grace-expired");
      } else {
        this.scheduleRecheck(session, watch);
      }
    }, delay);
  }

  private unwatch(session: Session): void {
    const watch = this.watches.get(session);
    if (watch === undefined) return;
    if (watch.timer !== undefined) this.timers.clear(watch.timer);
    this.watches.delete(session);
  }

  private scheduleSweep(): void {
    if (this.stopped) return;
    this.sweepTimer = this.timers.set(() => {
      this.sweepTimer = undefined;
      this.sweep();
      this.scheduleSweep();
    }, this.options.sweepIntervalMs);
  }

  private isAlive(session: Session): boolean {
    return this.liveness.isAlive(session.identity.pid, session.identity.processStartTicks);
  }
}
