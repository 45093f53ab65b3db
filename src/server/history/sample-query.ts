import type { Database, Statement } from "better-sqlite3";
import { API_MEMORY_TYPES, type HistoryPoint, type HistorySeries } from "../api-types.js";
import { COARSE_STEP_S } from "./sample-store.js";

/** Most points one history answer holds, over every series. */
export const MAX_HISTORY_POINTS = 10_000;

/** Which samples a history answer shows, in whole seconds since the epoch. */
export interface SampleSelection {
  deviceId?: number;
  /** Memory type index (protocol MemoryType). */
  memoryType?: number;
  /** A process's series; undefined: the devices' totals. */
  pid?: number;
  /** First and last second, inclusive. */
  fromSecond: number;
  toSecond: number;
  /** Step, s: 1..59 (the 1-s samples only), or a multiple of 60 (1-min samples, and 1-s ones merged). */
  stepSeconds: number;
  /** Most points returned (one more is read to know whether the answer was cut). */
  maxPoints: number;
}

interface PointRow {
  subject: number;
  b: number;
  mn: number;
  mx: number;
  last: number;
  device: number;
  type: number;
  pid: number;
  session: string;
  name: string;
}

/** Reads series of samples, merged into steps: each step's lowest min, highest max and latest last. */
export class SampleQuery {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Database) {}

  series(selection: SampleSelection): { series: HistorySeries[]; truncated: boolean } {
    const { sql, params } = this.sql(selection);
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    const rows = statement.all(params) as PointRow[];
    const truncated = rows.length > selection.maxPoints;
    if (truncated) rows.length = selection.maxPoints;
    const series: HistorySeries[] = [];
    let current: HistorySeries | undefined;
    let currentSubject = -1;
    for (const row of rows) {
      if (row.subject !== currentSubject) {
        currentSubject = row.subject;
        const isDevice = row.session === "";
        current = {
          deviceId: row.device,
          memoryType: API_MEMORY_TYPES[row.type] ?? API_MEMORY_TYPES[0],
          pid: isDevice ? null : row.pid,
          sessionId: isDevice ? null : row.session,
          processName: isDevice ? null : row.name,
          points: [],
        };
        series.push(current);
      }
      const point: HistoryPoint = { t: row.b * 1000, min: row.mn, max: row.mx, last: row.last };
      current!.points.push(point);
    }
    return { series, truncated };
  }

  private sql(selection: SampleSelection): { sql: string; params: Record<string, number> } {
    const params: Record<string, number> = {
      from: selection.fromSecond,
      to: selection.toSecond,
      step: selection.stepSeconds,
      limit: selection.maxPoints + 1,
      // The 1-min row of the minute holding `from` covers it too.
      fromMinute: Math.floor(selection.fromSecond / COARSE_STEP_S) * COARSE_STEP_S,
    };
    let filter = selection.pid === undefined ? "pid = 0" : "pid = :pid";
    if (selection.pid !== undefined) params["pid"] = selection.pid;
    if (selection.deviceId !== undefined) {
      filter += " AND device = :device";
      params["device"] = selection.deviceId;
    }
    if (selection.memoryType !== undefined) {
      filter += " AND type = :type";
      params["type"] = selection.memoryType;
    }
    const subjects = `subject IN (SELECT id FROM subjects WHERE ${filter})`;
    const coarse =
      selection.stepSeconds % COARSE_STEP_S === 0
        ? ` UNION ALL SELECT t, subject, min, max, last FROM samples_1m WHERE t BETWEEN :fromMinute AND :to AND ${subjects}`
        : "";
    const sql = `
      WITH p AS (SELECT CAST(:step AS INTEGER) AS step),
      s AS (
        SELECT t, subject, min, max, last FROM samples_1s WHERE t BETWEEN :from AND :to AND ${subjects}${coarse}
      ), g AS (
        -- Bound numbers are REAL: the step is made an integer so that t / step floors.
        SELECT subject, (t / p.step) * p.step AS b, last,
          MIN(min) OVER w AS mn, MAX(max) OVER w AS mx,
          ROW_NUMBER() OVER (PARTITION BY subject, t / p.step ORDER BY t DESC) AS rn
        FROM s, p WINDOW w AS (PARTITION BY subject, t / p.step)
      )
      SELECT g.subject, g.b, g.mn, g.mx, g.last, j.device, j.type, j.pid, j.session, j.name
      FROM g JOIN subjects j ON j.id = g.subject WHERE g.rn = 1
      ORDER BY j.device, j.type, j.pid, j.session, g.subject, g.b LIMIT :limit`;
    return { sql, params };
  }
}
