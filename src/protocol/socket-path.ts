/** Environment variable that overrides the socket path for clients and the server. */
export const SOCKET_PATH_ENV = "ALLOCWATCH_SOCKET";

/**
 * Where the allocation server listens and clients connect, when no explicit path is given — part of the
 * protocol, so both sides take it from here: `$ALLOCWATCH_SOCKET`, else `$XDG_RUNTIME_DIR/allocwatch.sock`
 * (a per-user, mode-0700 directory), else `/tmp/allocwatch-<uid>.sock`. Empty values count as unset, as
 * shells produce them with `VAR= cmd`. Pure: the caller passes its environment and uid.
 */
export function defaultSocketPath(env: Readonly<Record<string, string | undefined>>, uid: number): string {
  const fromEnv = env[SOCKET_PATH_ENV];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const runtimeDir = env["XDG_RUNTIME_DIR"];
  if (runtimeDir !== undefined && runtimeDir !== "")
    return `${runtimeDir.replace(/\/+$/, "")}/allocwatch.sock`;
  return `/tmp/allocwatch-${uid}.sock`;
}
