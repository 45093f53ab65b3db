import type { Logger } from "pino";
import type { AnomalyRecord } from "./anomaly-log.js";
import type { TimerScheduler } from "./timers.js";

/** Anomaly lines written to the server log per second, at most (default). */
export const DEFAULT_ANOMALY_LOG_LINES_PER_S = 20;
const WINDOW_MS = 1000;

/**
 * Writes recorded anomalies to the server log, at most `linesPerS` lines a second: a broken client can
 * produce anomalies at event rate, and the log must stay readable (and cheap). When a second's budget was
 * spent, the next line written says how many were left out; the API still counts every anomaly.
 */
export class AnomalyLogRateLimit {
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private linesInWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly log: Pick<Logger, "warn">,
    private readonly timers: Pick<TimerScheduler, "nowMs">,
    private readonly linesPerS: number = DEFAULT_ANOMALY_LOG_LINES_PER_S,
  ) {}

  /** Logs `anomaly` unless this second's budget is spent (then only counts it). */
  write(anomaly: AnomalyRecord): void {
    const now = this.timers.nowMs();
    if (now - this.windowStartMs >= WINDOW_MS) {
      if (this.suppressed > 0) this.log.warn({ suppressed: this.suppressed }, "anomaly log lines suppressed");
      this.windowStartMs = now;
      this.linesInWindow = 0;
      this.suppressed = 0;
    }
    if (this.linesInWindow++ < this.linesPerS) {
      this.log.warn(
        {
          anomaly: anomaly.kind,
          sessionId: anomaly.sessionId,
          clientPid: anomaly.pid,
          deviceId: anomaly.deviceId,
        },
        anomaly.detail,
      );
    } else {
      this.suppressed++;
    }
  }
}
