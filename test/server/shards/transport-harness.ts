// What the shard transport tests share (not a test file): a pool of transport-shard.ts workers with a log
// the test can read, and a real Unix socket listener (pauseOnConnect, as sharded mode requires).
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { listenUnixSocket, type UnixListener } from "../../../src/server/listener.js";
import { ShardPool, type ShardPoolOptions } from "../../../src/server/shards/shard-pool.js";
import type { TestShardData } from "./transport-shard.js";

export const TEST_SHARD_URL = new URL("./transport-shard.js", import.meta.url);

export interface TestPool {
  pool: ShardPool;
  /** Log lines (JSON) at warn and above. */
  logLines: string[];
}

export async function startTestPool(
  shards: number,
  data: TestShardData = {},
  options: Partial<ShardPoolOptions> = {},
): Promise<TestPool> {
  const logLines: string[] = [];
  const log = pino({ level: "warn" }, { write: (line: string) => logLines.push(line) });
  const pool = await ShardPool.start({
    shards,
    workerUrl: TEST_SHARD_URL,
    workerData: data,
    // Generous: a loaded 2-core machine slows a reply, never fails it.
    callTimeoutMs: 10_000,
    log,
    ...options,
  });
  return { pool, logLines };
}

export interface TestListener {
  readonly path: string;
  /** Sockets accepted so far, in order (paused: nothing read). */
  readonly accepted: Socket[];
  /** Resolves with the next accepted socket. */
  next(): Promise<Socket>;
  close(): Promise<void>;
}

export async function listen(options: { pauseOnConnect?: boolean } = {}): Promise<TestListener> {
  const dir = mkdtempSync(join(tmpdir(), "allocwatch-shards-"));
  const accepted: Socket[] = [];
  const waiting: Array<(socket: Socket) => void> = [];
  let listener: UnixListener;
  try {
    listener = await listenUnixSocket(
      join(dir, "s.sock"),
      (socket) => {
        accepted.push(socket);
        waiting.shift()?.(socket);
      },
      { pauseOnConnect: options.pauseOnConnect ?? true },
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let taken = 0;
  return {
    path: listener.path,
    accepted,
    next: () => {
      if (taken < accepted.length) return Promise.resolve(accepted[taken++]!);
      return new Promise((resolve) => {
        waiting.push((socket) => {
          taken++;
          resolve(socket);
        });
      });
    },
    close: async () => {
      // A socket the test did not hand over would keep the listener's close waiting.
      for (const socket of accepted) socket.destroy();
      await listener.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A connected client socket. `allowHalfOpen` for a client that writes while the shard may finish
 * writing first (else Node ends the client's side on the shard's end).
 */
export function connectClient(path: string, allowHalfOpen = false): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path, allowHalfOpen });
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** A client connected and its server side accepted (both ends). */
export async function connectPair(
  listener: TestListener,
  allowHalfOpen = false,
): Promise<{ client: Socket; server: Socket }> {
  const accepted = listener.next();
  const client = await connectClient(listener.path, allowHalfOpen);
  return { client, server: await accepted };
}

const RELAY_CLIENT = fileURLToPath(new URL("./relay-client.js", import.meta.url));

/** A client connection from a child process (another pid), with the socket this side accepted. */
export interface RelayClient {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number;
  readonly server: Socket;
  /** Writes `text` to the connection; resolves with what comes back first. */
  roundTrip(text: string): Promise<string>;
  /** Resolves when the child has exited (its connection closed). */
  readonly exited: Promise<void>;
}

export async function relayClient(listener: TestListener): Promise<RelayClient> {
  const accepted = listener.next();
  const child = spawn(process.execPath, [RELAY_CLIENT, listener.path], { stdio: "pipe" });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const server = await Promise.race([
    accepted,
    exited.then(() => {
      throw new Error("the relay client exited before it connected");
    }),
  ]);
  return {
    child,
    pid: child.pid!,
    server,
    exited,
    roundTrip: (text) =>
      new Promise((resolve) => {
        child.stdout.once("data", (chunk) => resolve(String(chunk)));
        child.stdin.write(text);
      }),
  };
}
