import { InvalidOptionError } from "../errors.js";
import { parseDuration } from "./duration.js";
import type { HistoryOptions } from "./history-options.js";
import { defaultHistoryPath } from "./history-path.js";

/** The `allocwatch serve` history flags, as commander hands them over. */
export interface HistoryServeFlags {
  /** `--history PATH`: a string; absent or bare `--history`: true (on, default path); `--no-history`: false. */
  history?: string | boolean;
  /** `--history-retention 7d`. */
  historyRetention?: string;
}

/**
 * startServer's `history` option for `serve`: on by default, at defaultHistoryPath() (XDG state
 * directory); `--no-history` turns it off, and tuning it then is refused (the flag would do nothing).
 * A file named with `--history PATH` that cannot be used refuses the start; the default file only warns
 * (the server then runs without history): a second server of the same user, or a read-only home, must
 * not stop the server nobody asked history of by name.
 */
export function historyServeOptions(
  flags: HistoryServeFlags,
  env: NodeJS.ProcessEnv = process.env,
): HistoryOptions | false {
  if (flags.history === false) {
    if (flags.historyRetention !== undefined) {
      throw new InvalidOptionError("--history-retention tunes the history database: drop --no-history");
    }
    return false;
  }
  const named = typeof flags.history === "string";
  return {
    path: named ? (flags.history as string) : defaultHistoryPath(env),
    ifUnusable: named ? "refuse" : "warn",
    ...(flags.historyRetention === undefined
      ? {}
      : { retentionMs: parseDuration(flags.historyRetention, "--history-retention") }),
  };
}
