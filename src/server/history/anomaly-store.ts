import type { Database, Statement } from "better-sqlite3";
import type { AnomalyRecord } from "../anomaly-log.js";
import type { AnomalyKind } from "../api-types.js";

/** Most anomalies one answer lists. */
export const MAX_ANOMALIES_LISTED = 1000;
/** Longest anomaly detail stored, characters (details are one line; a longer one is cut). */
export const MAX_ANOMALY_DETAIL_CHARS = 512;

interface AnomalyRow {
  time_ms: number;
  kind: string;
  session: string;
  pid: number;
  device: number | null;
  detail: string;
}

/** Anomalies as the AnomalyLog recorded them. */
export class AnomalyStore {
  private readonly insertRecord: Statement<[number, string, string, number, number | null, string]>;
  private readonly deleteOld: Statement<[number]>;
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
    this.insertRecord = db.prepare(
      "INSERT INTO anomalies (time_ms, kind, session, pid, device, detail) VALUES (?, ?, ?, ?, ?, ?)",
    );
    this.deleteOld = db.prepare("DELETE FROM anomalies WHERE time_ms < ?");
  }

  insert(record: AnomalyRecord): void {
    this.insertRecord.run(
      record.timeMs,
      record.kind,
      record.sessionId,
      record.pid,
      record.deviceId,
      record.detail.slice(0, MAX_ANOMALY_DETAIL_CHARS),
    );
  }

  prune(beforeMs: number): void {
    this.deleteOld.run(beforeMs);
  }

  /** Recorded in [fromMs, toMs] (of `pid`, `deviceId` when given), newest first. */
  list(fromMs: number, toMs: number, pid: number | undefined, deviceId: number | undefined): AnomalyRecord[] {
    const params: number[] = [fromMs, toMs];
    let where = "time_ms BETWEEN ? AND ?";
    if (pid !== undefined) {
      where += " AND pid = ?";
      params.push(pid);
    }
    if (deviceId !== undefined) {
      where += " AND device = ?";
      params.push(deviceId);
    }
    const rows = this.db
      .prepare(
        `SELECT * FROM anomalies WHERE ${where} ORDER BY time_ms DESC, id DESC LIMIT ${MAX_ANOMALIES_LISTED}`,
      )
      .all(...params) as AnomalyRow[];
    return rows.map((row) => ({
      kind: row.kind as AnomalyKind,
      sessionId: row.session,
      pid: row.pid,
      deviceId: row.device,
      detail: row.detail,
      timeMs: row.time_ms,
    }));
  }
}
