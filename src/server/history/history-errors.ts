import { ServerError, ServerErrorCode } from "../errors.js";

/**
 * The history database cannot be used. The server refuses to start with it (the message says the way
 * out: another path, or --no-history), rather than run without the history the user asked for.
 */
export class HistoryOpenError extends ServerError {
  override readonly name = "HistoryOpenError";
  constructor(
    code: ServerErrorCode,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message);
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

const WAY_OUT = "choose another file with --history PATH, or run without history with --no-history";

/** The error for a failure to open `path` (an SQLite or file-system error), with its stable code. */
export function historyOpenError(path: string, error: unknown): HistoryOpenError {
  const code = (error as { code?: unknown }).code;
  const detail = error instanceof Error ? error.message : String(error);
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
    return new HistoryOpenError(
      ServerErrorCode.HISTORY_LOCKED,
      path,
      `the history database ${path} is in use by another process (another allocwatch server?): stop it, or ${WAY_OUT}`,
      { cause: error },
    );
  }
  if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") {
    return new HistoryOpenError(
      ServerErrorCode.HISTORY_CORRUPT,
      path,
      `${path} is not a readable allocwatch history database (${detail}): move it away (a new one is made), or ${WAY_OUT}`,
      { cause: error },
    );
  }
  return new HistoryOpenError(
    ServerErrorCode.HISTORY_UNWRITABLE,
    path,
    `cannot create or write the history database ${path} (${detail}): ${WAY_OUT}`,
    { cause: error },
  );
}

/** The file's schema is newer than this allocwatch knows: never touch it (a downgrade would lose data). */
export function newerSchemaError(path: string, found: number, known: number): HistoryOpenError {
  return new HistoryOpenError(
    ServerErrorCode.HISTORY_NEWER_SCHEMA,
    path,
    `the history database ${path} has schema version ${found}, newer than this allocwatch's ${known} ` +
      `(written by a newer allocwatch): upgrade allocwatch, or ${WAY_OUT}`,
  );
}
