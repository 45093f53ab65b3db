import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";

/** The history file's name in its directory. */
export const HISTORY_FILE_NAME = "history.sqlite";

/**
 * Where `serve` keeps its history unless told (`--history PATH`): `$XDG_STATE_HOME/allocwatch/` when that
 * is an absolute path (the XDG Base Directory rule), else `~/.local/state/allocwatch/`.
 */
export function defaultHistoryPath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  const state = env["XDG_STATE_HOME"];
  const base = state !== undefined && isAbsolute(state) ? state : join(home, ".local", "state");
  return join(base, "allocwatch", HISTORY_FILE_NAME);
}
