import { join } from "node:path";

/** Name of the environment variable that overrides the socket path for clients and the server. */
export const SOCKET_PATH_ENV = "ALLOCWATCH_SOCKET";

/**
 * The one place that decides where the allocation server listens and clients connect:
 * `$ALLOCWATCH_SOCKET`, else `$XDG_RUNTIME_DIR/allocwatch.sock` (per-user, mode 0700 directory),
 * else `/tmp/allocwatch-<uid>.sock`. An explicit path (e.g. `--socket`) wins over all of them.
 * Empty strings count as unset, as shells produce them with `VAR= cmd`.
 */
export function resolveSocketPath(
  explicitPath?: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  uid: number = currentUid(),
): string {
  if (explicitPath !== undefined && explicitPath !== "") return explicitPath;
  const fromEnv = env[SOCKET_PATH_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const runtimeDir = env["XDG_RUNTIME_DIR"];
  if (runtimeDir !== undefined && runtimeDir !== "") return join(runtimeDir, "allocwatch.sock");
  return `/tmp/allocwatch-${uid}.sock`;
}

function currentUid(): number {
  // process.getuid is absent on Windows; Unix sockets there are out of scope, but keep the path defined.
  return typeof process.getuid === "function" ? process.getuid() : 0;
}
