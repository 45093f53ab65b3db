import { randomBytes } from "node:crypto";
import { chmodSync, linkSync, lstatSync, statSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { defaultSocketPath as protocolDefaultSocketPath } from "../protocol/socket-path.js";
import { ListenError, ServerAlreadyRunningError, SocketPathOccupiedError } from "./errors.js";

/** The default socket path for this process's environment and user (the protocol's rule). */
export function defaultSocketPath(
  env: Readonly<Record<string, string | undefined>> = process.env,
  uid: number = typeof process.getuid === "function" ? process.getuid() : 0,
): string {
  return protocolDefaultSocketPath(env, uid);
}

/**
 * Longest Unix socket path the kernel takes, UTF-8 bytes: sun_path less its terminating NUL (108 on
 * Linux, 104 on macOS and the BSDs). A longer path would be silently truncated by the bind.
 */
export const MAX_SOCKET_PATH_BYTES: number = process.platform === "linux" ? 107 : 103;

/** Why `path` cannot name a Unix socket on this platform (it is too long), or undefined when it can. */
export function socketPathTooLong(path: string): string | undefined {
  const bytes = Buffer.byteLength(path, "utf8");
  if (bytes <= MAX_SOCKET_PATH_BYTES) return undefined;
  return (
    `${path} is ${bytes} bytes long; a Unix socket path may be at most ${MAX_SOCKET_PATH_BYTES} bytes ` +
    `(UTF-8) on ${process.platform}: choose a shorter path`
  );
}

/** A bound, listening Unix socket. */
export interface UnixListener {
  readonly path: string;
  readonly server: Server;
  /** Stops accepting and removes the socket file (if it is still ours). Open connections are not touched. */
  close(): Promise<void>;
}

export interface UnixListenerOptions {
  /**
   * Accepted sockets start paused: nothing is read until someone resumes them. Required where connections
   * are handed to ingest shards (src/server/shards/shard-pool.ts): a byte read on the main thread would
   * never reach the shard, so ShardPool.handOver refuses a socket that has started reading.
   */
  pauseOnConnect?: boolean;
}

const PROBE_TIMEOUT_MS = 1000;
/** Temporary names tried before giving up (each is random; a clash means another file holds the name). */
const TEMPORARY_NAME_ATTEMPTS = 5;

/** The socket file this server created: removed on close only while the path still names it. */
interface SocketFile {
  dev: number;
  ino: number;
}

/**
 * Listens on `path`, created mode 0600 (only this user may connect). A socket file nobody answers on is
 * stale (a crashed server) and is replaced; a live server on the path makes this fail with
 * ServerAlreadyRunningError; a path that is not a socket is never deleted (SocketPathOccupiedError).
 *
 * libuv unlinks the name a pipe server was bound to when the server closes, whatever that name points
 * at by then: bound on `path` directly, closing would delete a newer server's socket after `path` was
 * removed and reused. So the socket is bound under a temporary name in the same directory and linked
 * onto `path` (link never replaces a file: a server that took the path meanwhile is not clobbered);
 * libuv later unlinks only the temporary name, gone since, and close() removes `path` only while it is
 * still this server's inode.
 */
export async function listenUnixSocket(
  path: string,
  onConnection: (socket: Socket) => void,
  options: UnixListenerOptions = {},
): Promise<UnixListener> {
  const tooLong = socketPathTooLong(path);
  if (tooLong !== undefined) throw new ListenError(tooLong);
  await clearStaleSocket(path);
  // allowHalfOpen: when a peer half-closes mid-frame we still answer with an ERROR frame.
  const server = createServer(
    { allowHalfOpen: true, pauseOnConnect: options.pauseOnConnect ?? false },
    onConnection,
  );
  const file = await bindOnto(server, path);
  let closed = false;
  return {
    path,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        removeIfOurs(path, file);
        server.close(() => resolve());
      }),
  };
}

/** Binds `server` and makes `path` name its socket; returns the socket file's identity. */
async function bindOnto(server: Server, path: string): Promise<SocketFile> {
  const room = MAX_SOCKET_PATH_BYTES - Buffer.byteLength(join(dirname(path), "x"), "utf8") + 1;
  // No room for a temporary name of at least 2 random characters beside a path this close to the
  // limit: bind on the path itself (libuv will unlink it on close whatever it names by then).
  if (room < 3) return bindDirectly(server, path);
  let temporary = "";
  for (let attempt = 1; ; attempt++) {
    temporary = join(dirname(path), temporaryName(room));
    try {
      await bind(server, temporary);
      break;
    } catch (error) {
      if (errno(error) === "EADDRINUSE" && attempt < TEMPORARY_NAME_ATTEMPTS) continue;
      throw new ListenError(describeListenFailure(path, error));
    }
  }
  let file: SocketFile;
  try {
    chmodSync(temporary, 0o600);
    const { dev, ino } = lstatSync(temporary);
    linkSync(temporary, path);
    file = { dev, ino };
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (errno(error) === "EEXIST") {
      if ((await probe(path)) === "live") throw new ServerAlreadyRunningError(path);
      throw new ListenError(`${path} was created by someone else while this server started; try again`);
    }
    throw new ListenError(describeListenFailure(path, error));
  }
  try {
    unlinkSync(temporary);
  } catch {
    // Harmless: libuv removes the temporary name when the server closes.
  }
  return file;
}

async function bindDirectly(server: Server, path: string): Promise<SocketFile> {
  try {
    await bind(server, path);
  } catch (error) {
    if (errno(error) === "EADDRINUSE" && (await probe(path)) === "live") {
      throw new ServerAlreadyRunningError(path);
    }
    throw new ListenError(describeListenFailure(path, error));
  }
  try {
    chmodSync(path, 0o600);
    const { dev, ino } = lstatSync(path);
    return { dev, ino };
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw new ListenError(describeListenFailure(path, error));
  }
}

/** A dot and random characters, at most `room` bytes (and at most 9: short keeps long paths possible). */
function temporaryName(room: number): string {
  return `.${randomBytes(6).toString("base64url")}`.slice(0, Math.min(room, 9));
}

function removeIfOurs(path: string, file: SocketFile): void {
  try {
    const now = lstatSync(path);
    // Another server may have replaced the file since (after someone removed ours): leave its socket.
    if (now.ino === file.ino && now.dev === file.dev) unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * What went wrong creating the socket `path`, in the user's words. libuv reports a missing directory as
 * EACCES (for Windows' sake), so the directory is looked at to tell "does not exist" from "permission".
 */
export function describeListenFailure(path: string, error: unknown): string {
  const code = errno(error);
  const directory = dirname(path);
  if (code === "EACCES" || code === "ENOENT" || code === "ENOTDIR") {
    let dirCode: string | undefined;
    let isDirectory = false;
    try {
      isDirectory = statSync(directory).isDirectory();
    } catch (statError) {
      dirCode = errno(statError);
    }
    if (dirCode === "ENOENT") {
      return `cannot listen on ${path}: directory ${directory} does not exist (create it, or choose another path)`;
    }
    if (dirCode === "ENOTDIR" || (dirCode === undefined && !isDirectory)) {
      return `cannot listen on ${path}: ${directory} is not a directory`;
    }
    if (code === "EACCES" || dirCode === "EACCES") {
      return (
        `cannot listen on ${path}: permission denied (this user needs write and search permission on ` +
        `${directory}; choose a directory of your own)`
      );
    }
  }
  return `cannot listen on ${path}: ${(error as Error).message}`;
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch (error) {
    if (errno(error) === "ENOENT") return;
    throw new ListenError(describeListenFailure(path, error));
  }
  if (!isSocket) throw new SocketPathOccupiedError(path);
  const state = await probe(path);
  if (state === "live") throw new ServerAlreadyRunningError(path);
  try {
    unlinkSync(path);
  } catch (error) {
    if (errno(error) !== "ENOENT") {
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
