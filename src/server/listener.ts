import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { defaultSocketPath as protocolDefaultSocketPath } from "../protocol/socket-path.js";
import { ListenError, ServerAlreadyRunningError, SocketPathOccupiedError } from "./errors.js";

/** The default socket path for this process's environment and user (the protocol's rule). */
export function defaultSocketPath(
  env: Readonly<Record<string, string | undefined>> = process.env,
  uid: number = typeof process.getuid === "function" ? process.getuid() : 0,
): string {
  return protocolDefaultSocketPath(env, uid);
}

/** A bound, listening Unix socket. */
export interface UnixListener {
  readonly path: string;
  readonly server: Server;
  /** Stops accepting and removes the socket file (if it is still ours). Open connections are not touched. */
  close(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 1000;

/**
 * Listens on `path`, created mode 0600 (only this user may connect). A socket file nobody answers on is
 * stale (a crashed server) and is replaced; a live server on the path makes this fail with
 * ServerAlreadyRunningError; a path that is not a socket is never deleted (SocketPathOccupiedError).
 */
export async function listenUnixSocket(
  path: string,
  onConnection: (socket: Socket) => void,
): Promise<UnixListener> {
  await clearStaleSocket(path);
  // allowHalfOpen: when a peer half-closes mid-frame we still answer with an ERROR frame.
  const server = createServer({ allowHalfOpen: true }, onConnection);
  try {
    await bind(server, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE" && (await probe(path)) === "live") {
      throw new ServerAlreadyRunningError(path);
    }
    throw new ListenError(`cannot listen on ${path}: ${(error as Error).message}`);
  }
  chmodSync(path, 0o600);
  const inode = lstatSync(path).ino;
  let closed = false;
  return {
    path,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        server.close(() => resolve());
        // Remove the file only if it is still the one we bound (another server may have replaced it).
        try {
          if (lstatSync(path).ino === inode) unlinkSync(path);
        } catch {
          // already gone
        }
      }),
  };
}

async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new ListenError(`cannot inspect ${path}: ${(error as Error).message}`);
  }
  if (!isSocket) throw new SocketPathOccupiedError(path);
  const state = await probe(path);
  if (state === "live") throw new ServerAlreadyRunningError(path);
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new ListenError(`cannot remove the stale socket ${path}: ${(error as Error).message}`);
    }
  }
}

/** "live" when something accepts connections on `path`, else "stale". */
function probe(path: string): Promise<"live" | "stale"> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (state: "live" | "stale") => {
      clearTimeout(timer);
      socket.destroy();
      resolve(state);
    };
    // A server that accepts but is too busy to finish the handshake is still alive.
    const timer = setTimeout(() => done("live"), PROBE_TIMEOUT_MS);
    socket.once("connect", () => done("live"));
    socket.once("error", () => done("stale"));
  });
}

function bind(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // The umask decides the mode the socket is created with: no window in which others could connect.
    const previous = process.umask(0o177);
    const onError = (error: Error) => {
      server.off("listening", onListening);
      reject(error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    try {
      server.listen(path);
    } finally {
      process.umask(previous);
    }
  });
}
