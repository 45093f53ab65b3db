import type { Database } from "better-sqlite3";
import type { HistoryResponse } from "../api-types.js";
import { AnomalyStore } from "./anomaly-store.js";
import { openHistoryDatabase } from "./history-database.js";
import type { HistoryRequest } from "./history-request.js";
import { LeakStore } from "./leak-store.js";
import { LifetimeStore } from "./lifetime-store.js";
import { MAX_HISTORY_POINTS, SampleQuery } from "./sample-query.js";
import { COARSE_STEP_S, FINE_SAMPLES_S, SampleStore } from "./sample-store.js";

/**
 * Seconds of 1-s rows merged by one downsampling statement: 5 (at 792 series ~4k rows, ~6 ms on the
 * reference machine, where a whole minute at once held the server's thread 21 ms; docs/PERFORMANCE.md
 * "History").
 */
export const DOWNSAMPLE_RANGE_S = 5;
/**
 * Downsampling work per `maintain` call, ms of wall time: ranges are merged until this is spent (at least
 * one), the rest in the next call (the recorder calls once a second), so a minute's merge is spread over
 * a few seconds instead of stalling the server once a minute.
 */
export const DOWNSAMPLE_BUDGET_MS = 4;

/** How long history is kept unless told (`--history-retention`), ms: 7 days. */
export const DEFAULT_HISTORY_RETENTION_MS = 7 * 86_400_000;

/**
 * The history database (src/server/history): samples of bytes in use, process lifetimes, anomalies and
 * leak reports, kept `retentionMs`. Synchronous (better-sqlite3): every call is a short transaction on
 * the server's thread, made once a second by the HistoryRecorder, never on the ingest path.
 */
export class HistoryStore {
  readonly samples: SampleStore;
  readonly lifetimes: LifetimeStore;
  readonly anomalies: AnomalyStore;
  /** The LeakArchive of the server (leak reports survive restarts). */
  readonly leaks: LeakStore;
  private readonly query: SampleQuery;
  private prunedMinute = 0;
  private closed = false;

  private constructor(
    private readonly db: Database,
    readonly path: string,
    readonly retentionMs: number,
    nowMs: number,
  ) {
    this.samples = new SampleStore(db);
    this.lifetimes = new LifetimeStore(db);
    this.anomalies = new AnomalyStore(db);
    this.leaks = new LeakStore(db);
    this.query = new SampleQuery(db);
    // What the previous server left open it never saw end: it stopped at its last recorded second.
    const latest = this.samples.latestSecond();
    this.write(() => {
      this.lifetimes.closeOpenLifetimes(latest === undefined ? nowMs : latest * 1000);
      this.samples.endAllSessions(latest ?? Math.floor(nowMs / 1000));
    });
  }

  /**
   * Opens (or creates) the database at `path`; throws HistoryOpenError. `nowMs`: the wall clock now.
   * `maxFileBytes`: a hard cap on the file (SQLite max_page_count); writes past it fail (SQLITE_FULL)
   * as on a full disk. Default: none (the retention bounds the size).
   */
  static open(path: string, retentionMs: number, nowMs: number, maxFileBytes?: number): HistoryStore {
    const db = openHistoryDatabase(path);
    if (maxFileBytes !== undefined) {
      const pageBytes = db.pragma("page_size", { simple: true }) as number;
      db.pragma(`max_page_count = ${Math.max(1, Math.floor(maxFileBytes / pageBytes))}`);
    }
    return new HistoryStore(db, path, retentionMs, nowMs);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs `work` in one transaction (all or nothing). */
  write<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  /**
   * Downsampling and retention as of `nowMs`: 1-s samples older than an hour (whole minutes) become 1-min
   * samples, DOWNSAMPLE_RANGE_S seconds at a time until DOWNSAMPLE_BUDGET_MS is spent (the rest in later
   * calls; a minute half merged reads the same, since queries of 1-min steps merge both tables);
   * everything older than the retention goes (once a minute). Call inside `write`.
   */
  maintain(nowMs: number): void {
    const nowSecond = Math.floor(nowMs / 1000);
    const fineCutoff = floorTo(nowSecond - FINE_SAMPLES_S, COARSE_STEP_S);
    const started = performance.now();
    for (;;) {
      const oldest = this.samples.oldestFineSecond();
      if (oldest === undefined || oldest >= fineCutoff) break;
      const from = floorTo(oldest, DOWNSAMPLE_RANGE_S);
      this.samples.downsample(from, Math.min(from + DOWNSAMPLE_RANGE_S, fineCutoff));
      if (performance.now() - started >= DOWNSAMPLE_BUDGET_MS) break;
    }
    const minute = floorTo(nowSecond, COARSE_STEP_S);
    if (minute > this.prunedMinute) {
      this.prunedMinute = minute;
      const keepFromMs = nowMs - this.retentionMs;
      this.samples.prune(Math.floor(keepFromMs / 1000));
      this.samples.pruneSubjects(Math.floor(keepFromMs / 1000));
      this.lifetimes.prune(keepFromMs);
      this.anomalies.prune(keepFromMs);
      this.leaks.prune(keepFromMs);
    }
  }

  /** The answer of `GET /api/v1/history` for a checked request. */
  history(request: HistoryRequest): HistoryResponse {
    const { series, truncated } = this.query.series({
      deviceId: request.deviceId,
      memoryType: request.memoryType,
      pid: request.pid,
      fromSecond: Math.floor(request.fromMs / 1000),
      toSecond: Math.floor(request.toMs / 1000),
      stepSeconds: request.stepMs / 1000,
      maxPoints: MAX_HISTORY_POINTS,
    });
    return {
      fromMs: request.fromMs,
      toMs: request.toMs,
      stepMs: request.stepMs,
      retentionMs: this.retentionMs,
      maxPoints: MAX_HISTORY_POINTS,
      truncated,
      series,
      lifetimes: this.lifetimes.list(request.fromMs, request.toMs, request.pid),
      anomalies: this.anomalies.list(request.fromMs, request.toMs, request.pid, request.deviceId),
    };
  }

  /** Closes the database (the WAL is checkpointed into the file). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}

function floorTo(value: number, step: number): number {
  return Math.floor(value / step) * step;
}
