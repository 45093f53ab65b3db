// The worker entry of the shard transport tests (not a test file): a shard whose behaviour workerData
// chooses. Connections: hashes what it reads and, when meta asks, writes a byte pattern back; reports
// the hash when the peer ends. Calls: echo, spin (a long synchronous loop), throw, an uncloneable reply.
import { createHash } from "node:crypto";
import type { Socket } from "node:net";
import { connectShard, shardContext } from "../../../src/server/shards/shard-port.js";
import { patternChunks } from "./byte-pattern.js";

export interface TestShardData {
  /** Throw at start, before ready (every start, or only restarts: starts counted in `starts`). */
  failStart?: "always" | "restarts";
  /** Exit right after ready on restarts (the give-up bound). */
  dieAfterReadyOnRestart?: boolean;
  /** Exit right after ready on these starts (1 is the first; counted in `starts`, which it needs). */
  dieAfterReadyOnStarts?: number[];
  /** stop() never settles, so the pool must terminate the thread. */
  ignoreStop?: boolean;
  /**
   * Int32Array over a SharedArrayBuffer shared by every start: [shard] counts that shard's starts (each
   * start notifies waiters on it, so a test can time starts with Atomics.waitAsync).
   */
  starts?: SharedArrayBuffer;
}

/** What a connection's meta may ask for. */
export interface TestConnectionMeta {
  /** Write this many bytes of the pattern from `seed` back, then end. */
  replyBytes?: number;
  seed?: number;
  /** Answer each chunk read with "pong" (a liveness check), instead of hashing silently. */
  pong?: boolean;
}

const { shard, workerData } = shardContext();
const data = (workerData ?? {}) as TestShardData;
const startNumber = data.starts === undefined ? 1 : countStart(new Int32Array(data.starts));

function countStart(starts: Int32Array): number {
  const before = Atomics.add(starts, shard, 1);
  Atomics.notify(starts, shard);
  return before + 1;
}
if (data.failStart === "always" || (data.failStart === "restarts" && startNumber > 1)) {
  throw new Error(`test shard ${shard} refuses to start`);
}

const sockets = new Set<Socket>();

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // a thread that does not return to its event loop
  }
}

const port = connectShard({
  connection(id, socket, meta) {
    const asked = (meta ?? {}) as TestConnectionMeta;
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const hash = createHash("sha256");
    let bytes = 0;
    socket.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
      if (asked.pong) socket.write("pong");
    });
    socket.on("end", () => {
      port.push({ kind: "received", id, bytes, sha256: hash.digest("hex") });
      if (asked.replyBytes === undefined) socket.end();
    });
    if (asked.replyBytes !== undefined) void writePattern(socket, asked.seed ?? 1, asked.replyBytes);
  },
  call(request) {
    const r = request as { echo?: unknown; spinMs?: number; throw?: string; uncloneable?: boolean };
    if (r.spinMs !== undefined) {
      spin(r.spinMs);
      return { spun: r.spinMs, shard };
    }
    if (r.throw !== undefined) throw new Error(r.throw);
    if (r.uncloneable) return { f: () => 1 };
    return { echo: r.echo, shard };
  },
  message(message) {
    const m = message as { do: string; count?: number; spinMs?: number };
    if (m.do === "exit") process.exit(7);
    if (m.do === "throw")
      setImmediate(() => {
        throw new Error("test shard crashed");
      });
    if (m.do === "spin") spin(m.spinMs ?? 0);
    if (m.do === "push") for (let seq = 0; seq < (m.count ?? 0); seq++) port.push({ kind: "seq", seq });
  },
  stop() {
    if (data.ignoreStop) return new Promise<void>(() => {});
    for (const socket of sockets) socket.destroy();
  },
});
port.ready();
if ((data.dieAfterReadyOnRestart && startNumber > 1) || data.dieAfterReadyOnStarts?.includes(startNumber)) {
  setImmediate(() => process.exit(9));
}

async function writePattern(socket: Socket, seed: number, totalBytes: number): Promise<void> {
  for (const chunk of patternChunks(seed, totalBytes)) {
    if (socket.destroyed) return;
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once("drain", resolve));
  }
  socket.end();
}
