/** At most this fraction is added to each delay, so that many clients of a restarted server spread out. */
export const RECONNECT_JITTER = 0.25;

/**
 * The wait before each reconnect attempt: starts at `initialMs`, doubles after every attempt up to
 * `maxMs`, and a successful handshake starts it over. Each delay gets up to 25% jitter on top (never
 * less than the base delay), rounded to whole ms.
 */
export class ReconnectBackoff {
  private baseMs: number;

  /** `random` returns a number in [0, 1); injectable so that the jitter can be tested. */
  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {
    this.baseMs = initialMs;
  }

  /** The delay before the next attempt, ms; grows the one after. */
  nextDelayMs(): number {
    const delay = this.baseMs;
    this.baseMs = Math.min(this.maxMs, this.baseMs * 2);
    return Math.round(delay * (1 + this.random() * RECONNECT_JITTER));
  }

  /** A server answered: the next loss starts again from the initial delay. */
  reset(): void {
    this.baseMs = this.initialMs;
  }
}
