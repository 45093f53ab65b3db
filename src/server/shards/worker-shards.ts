import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { IngestLimits } from "../ingest.js";
import type { LogLevel } from "../options.js";
import type { PeerCredentialSource, PeerCredentials } from "../peer-credentials.js";
import type { ShardQuestion } from "./shard-core.js";
import type { ShardHost } from "./shard-host.js";
import { ShardPool } from "./shard-pool.js";
import type { ShardUpdate } from "./shard-update.js";

/** How long the main thread waits for a shard's answer (an allocation list, a memory map), ms. */
export const SHARD_ANSWER_TIMEOUT_MS = 2000;

/** What a shard worker (shard-entry.ts) is started with. Plain data. */
export interface ShardEntryData {
  limits: IngestLimits;
  logLevel: LogLevel;
  /** The shared live-allocation count (live-pool.ts) and how many shards reserve from it. */
  livePool: { buffer: SharedArrayBuffer; shards: number };
}

/** A handed-over connection's metadata. */
export interface ShardConnectionMeta {
  peer: PeerCredentials | undefined;
}

/** The ShardHost of worker threads (shard-entry.ts on the far side of a ShardPool). */
class WorkerShards implements ShardHost {
  private listener: ((shard: number, update: ShardUpdate) => void) | undefined;
  private readonly exitListeners: ((shard: number) => void)[] = [];

  constructor(
    private readonly pool: ShardPool,
    private readonly log: Logger,
  ) {
    pool.onMessage((shard, message) => this.listener?.(shard, message as ShardUpdate));
    // What the main thread knew of a dead worker's sessions goes when it dies, not when it is replaced
    // (a shard given up is never replaced).
    pool.onShardExit((shard) => {
      for (const listener of this.exitListeners) listener(shard);
    });
  }

  get size(): number {
    return this.pool.size;
  }

  shardFor(pid: number | undefined): number {
    return this.pool.shardFor(pid);
  }

  accept(socket: Socket, shard: number, peer: PeerCredentials | undefined, closed: () => void): void {
    try {
      this.pool.handOver(socket, shard, { peer } satisfies ShardConnectionMeta, closed);
    } catch (error) {
      this.log.warn({ err: error, shard }, "connection not handed to its ingest shard: closed");
      socket.destroy();
      closed();
    }
  }

  ask(shard: number, question: ShardQuestion): unknown {
    return this.pool.call(shard, question);
  }

  onUpdate(listener: (shard: number, update: ShardUpdate) => void): void {
    this.listener = listener;
  }

  onShardExit(listener: (shard: number) => void): void {
    this.exitListeners.push(listener);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/** Starts `shards` worker threads running shard-entry.ts. */
export async function startWorkerShards(
  shards: number,
  limits: IngestLimits,
  options: {
    log: Logger;
    logLevel: LogLevel;
    credentials: PeerCredentialSource;
    livePool: ShardEntryData["livePool"];
  },
): Promise<ShardHost> {
  const pool = await ShardPool.start({
    shards,
    workerUrl: new URL("./shard-entry.js", import.meta.url),
    workerData: { limits, logLevel: options.logLevel, livePool: options.livePool } satisfies ShardEntryData,
    callTimeoutMs: SHARD_ANSWER_TIMEOUT_MS,
    log: options.log,
    // The pid that places a connection is the one the server admitted it with.
    credentials: options.credentials,
  });
  return new WorkerShards(pool, options.log);
}
