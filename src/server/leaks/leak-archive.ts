import type { LeakReport } from "../api-types.js";

/**
 * Where leak reports are kept. The server keeps the newest in memory (a bounded list); with a history
 * database they are also stored there and survive restarts. Implementations must be bounded.
 */
export interface LeakArchive {
  /** Stores a report; returns it with its `id` assigned. */
  save(report: LeakReport): LeakReport;
  /** Newest first; `pid` filters; at most `limit`. */
  list(query: { pid?: number; limit: number }): LeakReport[];
}
