import { defaultSocketPath, SOCKET_PATH_ENV } from "../protocol/socket-path.js";

export { SOCKET_PATH_ENV };

/**
 * The socket a client connects to: an explicit path (e.g. `--socket`) wins; otherwise the protocol's
 * default for this environment and user (see protocol/socket-path.ts).
 */
export function resolveSocketPath(
  explicitPath?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  uid: number = currentUid(),
): string {
  if (explicitPath !== undefined && explicitPath !== "") return explicitPath;
  return defaultSocketPath(env, uid);
}

function currentUid(): number {
  // process.getuid is absent on Windows; Unix sockets there are out of scope, but keep the path defined.
  return typeof process.getuid === "function" ? process.getuid() : 0;
}
