import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { IngestLimits } from "../ingest.js";
import type { PeerCredentials } from "../peer-credentials.js";
import type { ProcessLiveness } from "../process-liveness.js";
import type { TimerScheduler } from "../timers.js";
import type { LivePool } from "./live-pool.js";
import { ShardCore, type ShardQuestion } from "./shard-core.js";
import { ShardPlacement } from "./shard-placement.js";
import type { ShardUpdate } from "./shard-update.js";

/**
 * Where a sharded server's ingest shards run: worker threads (worker-shards.ts), or ShardCores on the
 * main thread (LocalShards: the same routing, updates and questions without threads, which the tests of
 * the mirror use and which is what one would run where sockets cannot move to threads).
 */
export interface ShardHost {
  readonly size: number;
  /** The shard for a new connection of `pid`: the one its other connections are on, else the least loaded. */
  shardFor(pid: number | undefined): number;
  /** Serves an admitted socket on `shard`; `closed` runs once, when the connection is over. */
  accept(socket: Socket, shard: number, peer: PeerCredentials | undefined, closed: () => void): void;
  /** `shard`'s answer (synchronous). */
  ask(shard: number, question: ShardQuestion): unknown;
  /** Where updates go; set once, before any connection. */
  onUpdate(listener: (shard: number, update: ShardUpdate) => void): void;
  /** `shard` died (it is replaced, or given up): what the main thread knew of it is gone. */
  onShardExit?(listener: (shard: number) => void): void;
  /** Stops every shard: connections closed (SHUTTING_DOWN), sessions released, last updates sent. */
  close(): Promise<void>;
}

export interface LocalShardsDeps {
  log: Logger;
  timers: TimerScheduler;
  liveness: ProcessLiveness;
  epochMs: () => number;
  livePool?: LivePool;
}

/** Ingest shards on the main thread (see ShardHost). */
export class LocalShards implements ShardHost {
  readonly cores: ShardCore[] = [];
  private readonly placement: ShardPlacement;
  private listener: ((shard: number, update: ShardUpdate) => void) | undefined;

  constructor(size: number, limits: IngestLimits, deps: LocalShardsDeps) {
    this.placement = new ShardPlacement(size);
    for (let s = 0; s < size; s++) {
      const core = new ShardCore(limits, {
        ...deps,
        log: deps.log.child({ shard: s }),
        send: (update) => this.listener?.(s, update),
      });
      core.start();
      this.cores.push(core);
    }
  }

  get size(): number {
    return this.cores.length;
  }

  shardFor(pid: number | undefined): number {
    return this.placement.stuck(pid) ?? this.placement.leastLoaded(() => true);
  }

  accept(socket: Socket, shard: number, peer: PeerCredentials | undefined, closed: () => void): void {
    this.placement.add(shard, peer?.pid);
    socket.once("close", () => {
      this.placement.remove(shard, peer?.pid);
      closed();
    });
    this.cores[shard]!.accept(socket, peer);
  }

  ask(shard: number, question: ShardQuestion): unknown {
    return this.cores[shard]!.answer(question);
  }

  onUpdate(listener: (shard: number, update: ShardUpdate) => void): void {
    this.listener = listener;
  }

  async close(): Promise<void> {
    await Promise.all(this.cores.map((core) => core.stop()));
  }
}
