/**
 * The history of the public API (`GET /api/v1/history`, docs/API.md), re-exported by api-types.ts.
 * All byte counts are JSON numbers; times are milliseconds since the epoch unless named otherwise.
 */
import type { AnomalyRecord } from "../anomaly-log.js";
import type { ApiMemoryType, PerMemoryType } from "../api-types.js";

/** One step of a history series (bytes in use): lowest, highest and last value over the step. */
export interface HistoryPoint {
  /** Start of the step, ms since the Unix epoch (a multiple of `stepMs`). */
  t: number;
  /** Bytes. */
  min: number;
  /** Bytes. */
  max: number;
  /** Bytes at the end of the step's last recorded second. */
  last: number;
}

/** Bytes in use over time of one device × memory type, or of one process × device × memory type. */
export interface HistorySeries {
  deviceId: number;
  memoryType: ApiMemoryType;
  /** The process's pid; null for the device's total over every process. */
  pid: number | null;
  /** The process's session; null for a device total. */
  sessionId: string | null;
  /** The process's name; null for a device total. */
  processName: string | null;
  /** Oldest first; steps without a recorded second are absent. */
  points: HistoryPoint[];
}

/** What one device held for a process over its life. */
export interface HistoryLifetimeDevice {
  deviceId: number;
  /** Highest bytes in use of the process on the device, per memory type. */
  peakBytes: PerMemoryType;
  /** Bytes it still held when its session ended (0 while it runs), per memory type. */
  leakedBytes: PerMemoryType;
}

/** A process's session as the history recorded it. */
export interface HistoryLifetime {
  sessionId: string;
  pid: number;
  processName: string;
  /** "native", "legacy", … (ProcessSummary.source). */
  source: string;
  /** ms since the epoch. */
  startedAtMs: number;
  /** ms since the epoch; null while the session is live. */
  endedAtMs: number | null;
  /**
   * Why it ended (ReleaseReason, e.g. "process-exited", "goodbye"), "server-stopped" when the server
   * stopped without seeing the end (then `endedAtMs` is the server's last recorded second); null while live.
   */
  endReason: string | null;
  /** Bytes held at the end over every device, per memory type (all 0 for a clean exit). */
  leakedBytes: PerMemoryType;
  devices: HistoryLifetimeDevice[];
}

/**
 * `GET /api/v1/history?device=&type=&pid=&from=&to=&step=` (docs/API.md "History"): bytes in use over
 * time from the history database (`serve --history`), per device × type (without `pid`) or per process
 * × device × type (`pid=P`), with process lifetimes and anomalies of the range. 1-s steps are kept for
 * the last hour, 1-min steps for the retention (default 7 days). 404 when the server keeps no history.
 */
export interface HistoryResponse {
  /** The range asked for (inclusive), ms since the epoch. */
  fromMs: number;
  toMs: number;
  /** Width of each point, ms: 1000 × n below a minute, 60000 × n from a minute on. */
  stepMs: number;
  /** How long the server keeps history, ms (`serve --history-retention`). */
  retentionMs: number;
  /** The most points one answer holds (10,000 over every series). */
  maxPoints: number;
  /** true: more points matched than `maxPoints`; the series are cut (narrow the range, or raise `step`). */
  truncated: boolean;
  series: HistorySeries[];
  /** Sessions alive at some time in the range (of `pid` when given), newest first, at most 1000. */
  lifetimes: HistoryLifetime[];
  /** Anomalies recorded in the range (of `pid`/`device` when given), newest first, at most 1000. */
  anomalies: AnomalyRecord[];
}
