import type { Database, Statement } from "better-sqlite3";
import type { LeakReport } from "../api-types.js";
import type { LeakArchive } from "../leaks/leak-archive.js";

/** Most leak reports kept in the database, whatever the retention; past it the oldest go. */
export const MAX_STORED_LEAK_REPORTS = 10_000;

/**
 * Leak reports in the history database (LeakArchive): they survive restarts. A report's id is its row
 * id (increasing over the database's life); reports older than the retention, or beyond
 * MAX_STORED_LEAK_REPORTS, are deleted.
 */
export class LeakStore implements LeakArchive {
  private readonly insertReport: Statement<[number, number, string]>;
  private readonly setReport: Statement<[string, number]>;
  private readonly trim: Statement<[number]>;
  private readonly listAll: Statement<[number], { report: string }>;
  private readonly listPid: Statement<[number, number], { report: string }>;
  private readonly deleteOld: Statement<[number]>;

  constructor(
    db: Database,
    private readonly maxReports: number = MAX_STORED_LEAK_REPORTS,
  ) {
    this.insertReport = db.prepare("INSERT INTO leak_reports (ended_ms, pid, report) VALUES (?, ?, ?)");
    this.setReport = db.prepare("UPDATE leak_reports SET report = ? WHERE id = ?");
    this.trim = db.prepare("DELETE FROM leak_reports WHERE id <= ?");
    this.listAll = db.prepare("SELECT report FROM leak_reports ORDER BY id DESC LIMIT ?");
    this.listPid = db.prepare("SELECT report FROM leak_reports WHERE pid = ? ORDER BY id DESC LIMIT ?");
    this.deleteOld = db.prepare("DELETE FROM leak_reports WHERE ended_ms < ?");
    const save = db.transaction((report: LeakReport): LeakReport => {
      const id = Number(this.insertReport.run(report.endedAtMs, report.pid, "{}").lastInsertRowid);
      const stored = { ...report, id };
      this.setReport.run(JSON.stringify(stored), id);
      this.trim.run(id - this.maxReports);
      return stored;
    });
    this.save = (report) => save(report);
  }

  /** Stores the report (one small transaction) and returns it with its id. */
  readonly save: (report: LeakReport) => LeakReport;

  list(query: { pid?: number; limit: number }): LeakReport[] {
    const rows =
      query.pid === undefined ? this.listAll.all(query.limit) : this.listPid.all(query.pid, query.limit);
    return rows.map((row) => JSON.parse(row.report) as LeakReport);
  }

  prune(beforeMs: number): void {
    this.deleteOld.run(beforeMs);
  }
}
