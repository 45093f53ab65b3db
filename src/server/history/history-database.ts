import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { historyOpenError } from "./history-errors.js";
import { migrate } from "./schema.js";

/** Largest write-ahead log kept after a checkpoint, bytes (the WAL is truncated back to it). */
export const WAL_SIZE_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Opens (creating it and its directory when missing) the history database at `path`, migrated to the
 * current schema. WAL journal with synchronous=NORMAL: a committed second survives the server being
 * killed (SIGKILL), only a power cut may lose the last ones. Exclusive locking: a second server on the
 * same file is refused at once (HISTORY_LOCKED) rather than interleaving writes. Throws HistoryOpenError.
 */
export function openHistoryDatabase(path: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    db = new Database(path, { timeout: 0 });
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    // Takes the exclusive lock now (it is held until close), and reads the header: a file that is not a
    // database fails here.
    db.exec("BEGIN EXCLUSIVE; COMMIT");
    migrate(db, path);
    return db;
  } catch (error) {
    db?.close();
    if ((error as { name?: unknown }).name === "HistoryOpenError") throw error;
    throw historyOpenError(path, error);
  }
}
