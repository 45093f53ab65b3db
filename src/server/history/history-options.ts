import { InvalidOptionError } from "../errors.js";
import { MAX_DURATION_MS } from "./duration.js";
import { DEFAULT_HISTORY_RETENTION_MS } from "./history-store.js";

/** startServer's `history` option: keep history in an SQLite database (src/server/history). */
export interface HistoryOptions {
  /** The database file (created with its directory when missing). `serve` defaults to defaultHistoryPath(). */
  path: string;
  /** How long samples, lifetimes, anomalies and leak reports are kept, ms. Default 7 days. */
  retentionMs?: number;
  /**
   * A database that cannot be used (HistoryOpenError: unwritable, corrupt, held by another server,
   * newer schema): "refuse" (default) makes startServer throw it; "warn" logs it and runs without
   * history (`serve` uses it for its default file, which nobody asked for by name).
   */
  ifUnusable?: "refuse" | "warn";
}

export interface ResolvedHistoryOptions {
  path: string;
  retentionMs: number;
  ifUnusable: "refuse" | "warn";
}

/** Checks `history` (absent or false: no history, the default of startServer). */
export function resolveHistoryOptions(
  history: HistoryOptions | false | undefined,
): ResolvedHistoryOptions | undefined {
  if (history === undefined || history === false) return undefined;
  if (typeof history.path !== "string" || history.path === "") {
    throw new InvalidOptionError(
      "history.path (--history) must be a file path; leave history out (--no-history) to keep none",
    );
  }
  const retentionMs = history.retentionMs ?? DEFAULT_HISTORY_RETENTION_MS;
  if (!Number.isSafeInteger(retentionMs) || retentionMs < 1000 || retentionMs > MAX_DURATION_MS) {
    throw new InvalidOptionError(
      `history.retentionMs (--history-retention) must be whole ms from 1000 to ${MAX_DURATION_MS} (3650 days), got ${retentionMs}`,
    );
  }
  const ifUnusable = history.ifUnusable ?? "refuse";
  if (ifUnusable !== "refuse" && ifUnusable !== "warn") {
    throw new InvalidOptionError(
      `history.ifUnusable must be "refuse" or "warn", got ${JSON.stringify(ifUnusable)}`,
    );
  }
  return { path: history.path, retentionMs, ifUnusable };
}
