import type { LeakReport } from "../api-types.js";
import type { LeakArchive } from "./leak-archive.js";

/** Reports the in-memory archive keeps unless told otherwise (the newest; older ones are dropped). */
export const DEFAULT_MAX_LEAK_REPORTS = 256;

/**
 * The archive a server uses without a history database: the newest `limit` reports in memory, lost on
 * restart. Ids count from 1 at construction.
 */
export class MemoryLeakArchive implements LeakArchive {
  /** Oldest first. */
  private readonly reports: LeakReport[] = [];
  private nextId = 1;

  constructor(readonly limit: number = DEFAULT_MAX_LEAK_REPORTS) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`a leak archive keeps at least 1 report, got ${limit}`);
    }
  }

  get size(): number {
    return this.reports.length;
  }

  save(report: LeakReport): LeakReport {
    const saved = { ...report, id: this.nextId++ };
    this.reports.push(saved);
    if (this.reports.length > this.limit) this.reports.shift();
    return saved;
  }

  list(query: { pid?: number; limit: number }): LeakReport[] {
    const out: LeakReport[] = [];
    for (let i = this.reports.length - 1; i >= 0 && out.length < query.limit; i--) {
      const report = this.reports[i];
      if (query.pid === undefined || report.pid === query.pid) out.push(report);
    }
    return out;
  }
}
