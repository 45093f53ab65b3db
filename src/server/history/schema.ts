import type { Database } from "better-sqlite3";
import { newerSchemaError } from "./history-errors.js";

/**
 * The history database's schema version (SQLite `PRAGMA user_version`). A file with a higher version is
 * refused (HISTORY_NEWER_SCHEMA); a lower one is migrated forward in `migrate` (version 0 = empty file).
 */
export const SCHEMA_VERSION = 1;

/**
 * Version 1. Times of samples are whole seconds since the epoch (`t`), of the rest ms. Samples are keyed
 * (t, subject): each second's rows append at the end of the tree, and downsampling and retention delete
 * a prefix. Byte values are REAL (exact below 2^53); SQLite stores whole values as integers.
 */
const VERSION_1 = `
CREATE TABLE subjects (
  id INTEGER PRIMARY KEY,
  device INTEGER NOT NULL,
  type INTEGER NOT NULL,
  -- 0 and '' for a device's total over every process
  pid INTEGER NOT NULL,
  session TEXT NOT NULL,
  name TEXT NOT NULL,
  -- the last second the series was written (its session ended); NULL while it is being written
  last_s INTEGER,
  UNIQUE (device, type, pid, session)
);
CREATE INDEX subjects_session ON subjects (session);
CREATE INDEX subjects_last ON subjects (last_s);
CREATE TABLE samples_1s (
  t INTEGER NOT NULL, subject INTEGER NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL,
  PRIMARY KEY (t, subject)
) WITHOUT ROWID;
CREATE TABLE samples_1m (
  t INTEGER NOT NULL, subject INTEGER NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL,
  PRIMARY KEY (t, subject)
) WITHOUT ROWID;
CREATE TABLE lifetimes (
  id INTEGER PRIMARY KEY,
  session TEXT NOT NULL,
  pid INTEGER NOT NULL,
  name TEXT NOT NULL,
  source TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  ended_ms INTEGER,
  reason TEXT,
  -- JSON: HistoryLifetimeDevice[]
  devices TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX lifetimes_session ON lifetimes (session);
CREATE INDEX lifetimes_ended ON lifetimes (ended_ms);
CREATE TABLE anomalies (
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  session TEXT NOT NULL,
  pid INTEGER NOT NULL,
  device INTEGER,
  detail TEXT NOT NULL
);
CREATE INDEX anomalies_time ON anomalies (time_ms);
CREATE TABLE leak_reports (
  id INTEGER PRIMARY KEY,
  ended_ms INTEGER NOT NULL,
  pid INTEGER NOT NULL,
  -- JSON: LeakReport (its id is this row's id)
  report TEXT NOT NULL
);
CREATE INDEX leak_reports_pid ON leak_reports (pid);
CREATE INDEX leak_reports_ended ON leak_reports (ended_ms);
`;

/** Steps from version n to n + 1; `MIGRATIONS[0]` makes an empty file version 1. */
const MIGRATIONS: readonly string[] = [VERSION_1];

/** Brings the file at `path` to SCHEMA_VERSION in one transaction; refuses a newer one. */
export function migrate(db: Database, path: string): void {
  const found = db.pragma("user_version", { simple: true }) as number;
  if (found > SCHEMA_VERSION) throw newerSchemaError(path, found, SCHEMA_VERSION);
  if (found === SCHEMA_VERSION) return;
  db.transaction(() => {
    for (let version = found; version < SCHEMA_VERSION; version++) db.exec(MIGRATIONS[version]!);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
