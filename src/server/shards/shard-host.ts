import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { IngestLimits } from "../ingest.js";
import type { PeerCredentials } from "../peer-credentials.js";
import type { ProcessLiveness } from "../process-liveness.js";
import type { TimerScheduler } from "../timers.js";
import { ShardCore, type ShardQuestion } from "./shard-core.js";
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
  /** Stops every shard: connections closed (SHUTTING_DOWN), sessions released, last updates sent. */
  close(): Promise<void>;
}

/**
 * Connections per pid and per shard, for sticky placement: every connection of a process goes to one
 * shard (so does its session: a FREE on another connection than its ALLOC stays within one sequencer).
 */
export class ShardPlacement {
  private readonly open: number[];
  private readonly byPid = new Map<number, { shard: number; connections: number }>();

  constructor(readonly size: number) {
    this.open = new Array<number>(size).fill(0);
  }

  shardFor(pid: number | undefined): number {
    const held = pid === undefined ? undefined : this.byPid.get(pid);
    if (held !== undefined) return held.shard;
    let best = 0;
    for (let s = 1; s < this.size; s++) if (this.open[s]! < this.open[best]!) best = s;
    return best;
  }

  /** A connection of `pid` opened on `shard`; the returned function marks it closed (once). */
  opened(pid: number | undefined, shard: number): () => void {
    this.open[shard]!++;
    if (pid !== undefined) {
      const held = this.byPid.get(pid);
      if (held === undefined) this.byPid.set(pid, { shard, connections: 1 });
      else held.connections++;
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.open[shard]!--;
      if (pid === undefined) return;
      const held = this.byPid.get(pid);
      if (held !== undefined && --held.connections === 0) this.byPid.delete(pid);
    };
  }
}

export interface LocalShardsDeps {
  log: Logger;
  timers: TimerScheduler;
  liveness: ProcessLiveness;
  epochMs: () => number;
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
    return this.placement.shardFor(pid);
  }

  accept(socket: Socket, shard: number, peer: PeerCredentials | undefined, closed: () => void): void {
    const done = this.placement.opened(peer?.pid, shard);
    socket.once("close", () => {
      done();
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
