import type { Database, Statement } from "better-sqlite3";
import type { HistoryLifetime, HistoryLifetimeDevice, PerMemoryType } from "../api-types.js";
import { API_MEMORY_TYPES } from "../api-types.js";

/** Most lifetimes one answer lists. */
export const MAX_LIFETIMES_LISTED = 1000;

/** A session as it starts. */
export interface LifetimeStart {
  sessionId: string;
  pid: number;
  processName: string;
  source: string;
  startedAtMs: number;
}

/** A session as it ends. */
export interface LifetimeEnd {
  sessionId: string;
  endedAtMs: number;
  reason: string;
  devices: HistoryLifetimeDevice[];
}

interface LifetimeRow {
  session: string;
  pid: number;
  name: string;
  source: string;
  started_ms: number;
  ended_ms: number | null;
  reason: string | null;
  devices: string;
}

/** Process lifetimes: a row when a session opens, completed when it ends. */
export class LifetimeStore {
  private readonly insertStart: Statement<[string, number, string, string, number]>;
  private readonly updateEnd: Statement<[number, string, string, string]>;
  private readonly closeOpen: Statement<[number]>;
  private readonly deleteEnded: Statement<[number]>;
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
    this.insertStart = db.prepare(
      "INSERT INTO lifetimes (session, pid, name, source, started_ms) VALUES (?, ?, ?, ?, ?)",
    );
    this.updateEnd = db.prepare(
      "UPDATE lifetimes SET ended_ms = ?, reason = ?, devices = ? WHERE session = ? AND ended_ms IS NULL",
    );
    this.closeOpen = db.prepare(
      "UPDATE lifetimes SET ended_ms = MAX(started_ms, ?), reason = 'server-stopped' WHERE ended_ms IS NULL",
    );
    this.deleteEnded = db.prepare("DELETE FROM lifetimes WHERE ended_ms < ?");
  }

  start(start: LifetimeStart): void {
    this.insertStart.run(start.sessionId, start.pid, start.processName, start.source, start.startedAtMs);
  }

  end(end: LifetimeEnd): void {
    this.updateEnd.run(end.endedAtMs, end.reason, JSON.stringify(end.devices), end.sessionId);
  }

  /**
   * Ends every lifetime still open at `lastSeenMs` with reason "server-stopped": the previous server was
   * stopped (or killed) before it saw them end. Run once when the database is opened.
   */
  closeOpenLifetimes(lastSeenMs: number): void {
    this.closeOpen.run(lastSeenMs);
  }

  prune(beforeMs: number): void {
    this.deleteEnded.run(beforeMs);
  }

  /** Sessions alive at some time of [fromMs, toMs] (of `pid` when given), newest first. */
  list(fromMs: number, toMs: number, pid: number | undefined): HistoryLifetime[] {
    const rows = this.db
      .prepare(
        "SELECT * FROM lifetimes WHERE started_ms <= ? AND (ended_ms IS NULL OR ended_ms >= ?)" +
          (pid === undefined ? "" : " AND pid = ?") +
          ` ORDER BY started_ms DESC, id DESC LIMIT ${MAX_LIFETIMES_LISTED}`,
      )
      .all(...(pid === undefined ? [toMs, fromMs] : [toMs, fromMs, pid])) as LifetimeRow[];
    return rows.map(toLifetime);
  }
}

function toLifetime(row: LifetimeRow): HistoryLifetime {
  const devices = JSON.parse(row.devices) as HistoryLifetimeDevice[];
  const leakedBytes = zeroPerType();
  for (const device of devices) {
    for (const type of API_MEMORY_TYPES) leakedBytes[type] += device.leakedBytes[type] ?? 0;
  }
  return {
    sessionId: row.session,
    pid: row.pid,
    processName: row.name,
    source: row.source,
    startedAtMs: row.started_ms,
    endedAtMs: row.ended_ms,
    endReason: row.reason,
    leakedBytes,
    devices,
  };
}

/** Every memory type name with 0. */
export function zeroPerType(): PerMemoryType {
  const out = {} as PerMemoryType;
  for (const type of API_MEMORY_TYPES) out[type] = 0;
  return out;
}
