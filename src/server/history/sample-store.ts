import type { Database, Statement } from "better-sqlite3";

/** 1-s samples are kept this long, then merged into 1-min samples, s. */
export const FINE_SAMPLES_S = 3600;
/** Width of a downsampled (coarse) sample, s. */
export const COARSE_STEP_S = 60;

/**
 * Bytes one stored sample takes, measured (docs/PERFORMANCE.md "History database size"): a row of
 * (t, subject, min, max, last) with its share of B-tree pages. A series (one device × type, or one
 * process × device × type, in use) costs 3600 one-second rows + one 1-min row per minute of retention:
 * with 7 days, 13,680 rows ≈ 0.44 MB.
 */
export const SAMPLE_BYTES_ESTIMATE = 32;

/** Who a sample is of: a device's total (pid 0, session "") or one process on a device, one memory type. */
export interface SubjectKey {
  deviceId: number;
  memoryType: number;
  pid: number;
  sessionId: string;
  processName: string;
}

/**
 * Writes samples (1-s rows), downsamples them to 1-min rows past FINE_SAMPLES_S and deletes what the
 * retention no longer covers. Every method runs inside the caller's transaction (HistoryStore.write).
 */
export class SampleStore {
  private readonly insertFine: Statement<[number, number, number, number, number]>;
  private readonly findSubject: Statement<
    [number, number, number, string],
    { id: number; last_s: number | null }
  >;
  private readonly insertSubject: Statement<[number, number, number, string, string]>;
  private readonly downsampleFine: Statement<[number, number]>;
  private readonly deleteFineRange: Statement<[number, number]>;
  private readonly oldestFine: Statement<[], { t: number | null }>;
  private readonly deleteFine: Statement<[number]>;
  private readonly deleteCoarse: Statement<[number]>;
  private readonly deleteEndedSubjects: Statement<[number]>;
  private readonly reopenSubject: Statement<[number]>;
  private readonly endSubjects: Statement<[number, string]>;
  private readonly endAllSubjects: Statement<[number]>;
  private readonly newestSecond: Statement<[], { t: number | null }>;

  constructor(db: Database) {
    this.insertFine = db.prepare(
      "INSERT OR REPLACE INTO samples_1s (t, subject, min, max, last) VALUES (?, ?, ?, ?, ?)",
    );
    this.findSubject = db.prepare(
      "SELECT id, last_s FROM subjects WHERE device = ? AND type = ? AND pid = ? AND session = ?",
    );
    this.insertSubject = db.prepare(
      "INSERT INTO subjects (device, type, pid, session, name) VALUES (?, ?, ?, ?, ?)",
    );
    // Each minute's lowest min, highest max and the `last` of its latest second, for the 1-s rows of
    // [from, to) (looked up by key: a GROUP BY and one index probe per minute cost less than window
    // functions' two sorts). A minute is merged in several ranges, oldest first, so a range merges into
    // the row the earlier ones made: lower min, higher max, its own (later) last. (`WHERE true`: SQLite's
    // UPSERT after a SELECT needs a WHERE to parse.)
    this.downsampleFine = db.prepare(`
      INSERT INTO samples_1m (t, subject, min, max, last)
      SELECT g.m, g.subject, g.mn, g.mx, s.last FROM (
        SELECT (t / 60) * 60 AS m, subject, MIN(min) AS mn, MAX(max) AS mx, MAX(t) AS lt
        FROM samples_1s WHERE t >= ? AND t < ? GROUP BY subject, t / 60
      ) AS g JOIN samples_1s AS s ON s.t = g.lt AND s.subject = g.subject
      WHERE true
      ON CONFLICT (t, subject) DO UPDATE SET
        min = min(samples_1m.min, excluded.min),
        max = max(samples_1m.max, excluded.max),
        last = excluded.last`);
    this.deleteFineRange = db.prepare("DELETE FROM samples_1s WHERE t >= ? AND t < ?");
    this.oldestFine = db.prepare("SELECT MIN(t) AS t FROM samples_1s");
    this.deleteFine = db.prepare("DELETE FROM samples_1s WHERE t < ?");
    this.deleteCoarse = db.prepare("DELETE FROM samples_1m WHERE t < ?");
    this.deleteEndedSubjects = db.prepare("DELETE FROM subjects WHERE last_s < ?");
    this.reopenSubject = db.prepare("UPDATE subjects SET last_s = NULL WHERE id = ?");
    this.endSubjects = db.prepare("UPDATE subjects SET last_s = ? WHERE session = ? AND last_s IS NULL");
    this.endAllSubjects = db.prepare("UPDATE subjects SET last_s = ? WHERE session != '' AND last_s IS NULL");
    this.newestSecond = db.prepare(
      "SELECT MAX(t) AS t FROM (SELECT MAX(t) AS t FROM samples_1s UNION ALL SELECT MAX(t) FROM samples_1m)",
    );
  }

  /** The id of `key`'s series, created on first use. */
  subject(key: SubjectKey): number {
    const found = this.findSubject.get(key.deviceId, key.memoryType, key.pid, key.sessionId);
    if (found !== undefined) {
      // Written again (a session id that came back): no longer a candidate for pruning.
      if (found.last_s !== null) this.reopenSubject.run(found.id);
      return found.id;
    }
    const info = this.insertSubject.run(
      key.deviceId,
      key.memoryType,
      key.pid,
      key.sessionId,
      key.processName,
    );
    return Number(info.lastInsertRowid);
  }

  /** One second of one series, bytes; `second` is seconds since the epoch. */
  insert(second: number, subject: number, min: number, max: number, last: number): void {
    this.insertFine.run(second, subject, min, max, last);
  }

  /**
   * Merges the 1-s rows of seconds [fromSecond, toSecond) into 1-min rows and deletes them. Ranges of one
   * minute must come oldest first (each merges into what the earlier ones left).
   */
  downsample(fromSecond: number, toSecond: number): void {
    this.downsampleFine.run(fromSecond, toSecond);
    this.deleteFineRange.run(fromSecond, toSecond);
  }

  /** The oldest second with a 1-s row, or undefined. */
  oldestFineSecond(): number | undefined {
    return this.oldestFine.get()?.t ?? undefined;
  }

  /** Deletes samples older than `beforeSecond`. */
  prune(beforeSecond: number): void {
    this.deleteFine.run(beforeSecond);
    this.deleteCoarse.run(beforeSecond);
  }

  /**
   * The series of session `sessionId` are no longer written (it ended): their last sample is at most
   * `lastSecond`, which is when `pruneSubjects` may forget them.
   */
  endSession(sessionId: string, lastSecond: number): void {
    this.endSubjects.run(lastSecond, sessionId);
  }

  /** Every process series ended at `lastSecond` (the server that wrote them stopped). */
  endAllSessions(lastSecond: number): void {
    this.endAllSubjects.run(lastSecond);
  }

  /**
   * Forgets series whose last sample is older than `beforeSecond` (the retention deleted them all). A
   * device's series is never forgotten (device ids are bounded); a process's after its session ended.
   */
  pruneSubjects(beforeSecond: number): number {
    return this.deleteEndedSubjects.run(beforeSecond).changes;
  }

  /** The latest second recorded, or undefined for an empty history. */
  latestSecond(): number | undefined {
    return this.newestSecond.get()?.t ?? undefined;
  }
}
