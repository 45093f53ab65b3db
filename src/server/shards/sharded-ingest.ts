import type { Socket } from "node:net";
import type { Logger } from "pino";
import { AnomalyLog } from "../anomaly-log.js";
import type { Ingest, IngestLimits } from "../ingest.js";
import type { LeakArchive } from "../leaks/leak-archive.js";
import type { PeerCredentials } from "../peer-credentials.js";
import type { ProcessLiveness } from "../process-liveness.js";
import type { UsageSeries } from "../series/usage-series.js";
import type { TimerScheduler } from "../timers.js";
import type { LivePool } from "./live-pool.js";
import { ShardAllocations } from "./shard-allocations.js";
import { ShardCore } from "./shard-core.js";
import type { ShardHost } from "./shard-host.js";
import { ShardMirror } from "./shard-mirror.js";

export interface ShardedIngestDeps {
  log: Logger;
  timers: TimerScheduler;
  liveness: ProcessLiveness;
  epochMs: () => number;
  series: UsageSeries;
  archive(): LeakArchive;
  livePool?: LivePool;
}

/**
 * The main thread's side of a sharded server (docs/ARCHITECTURE.md "Ingest on more than one core"):
 * the shards' host, the mirror their updates build, and one more shard on the main thread for the
 * sources that stay here (the legacy adapter), numbered after the host's.
 */
export class ShardedIngest {
  readonly anomalies: AnomalyLog;
  readonly mirror: ShardMirror;
  readonly allocations: ShardAllocations;
  /** The main thread's own shard (legacy sessions), index `host.size`. */
  readonly local: ShardCore;
  private readonly log: Logger;

  constructor(
    readonly host: ShardHost,
    limits: IngestLimits,
    deps: ShardedIngestDeps,
  ) {
    this.log = deps.log;
    this.anomalies = new AnomalyLog(limits.recentAnomalies);
    this.mirror = new ShardMirror({
      series: deps.series,
      anomalies: this.anomalies,
      archive: deps.archive,
      log: deps.log,
      maxLive: limits.maxLiveAllocations,
      maxLivePerSession: limits.maxLiveAllocationsPerSession,
    });
    host.onUpdate((shard, update) => this.mirror.apply(shard, update));
    host.onShardRestart?.((shard) => this.mirror.dropShard(shard));
    const localIndex = host.size;
    this.local = new ShardCore(limits, {
      log: deps.log,
      timers: deps.timers,
      liveness: deps.liveness,
      epochMs: deps.epochMs,
      send: (update) => this.mirror.apply(localIndex, update),
      ...(deps.livePool === undefined ? {} : { livePool: deps.livePool }),
    });
    this.allocations = new ShardAllocations(this.mirror, (shards, question) =>
      shards.map((s) => (s === localIndex ? this.local.answer(question) : host.ask(s, question))),
    );
  }

  /** The main thread's shard's ingest (the legacy adapter feeds it). */
  get ingest(): Ingest {
    return this.local.ingest;
  }

  /** Serves an admitted socket on its process's shard; `closed` runs once, when the connection is over. */
  accept(socket: Socket, peer: PeerCredentials | undefined, closed: () => void): void {
    let shard: number;
    try {
      shard = this.host.shardFor(peer?.pid);
    } catch (error) {
      this.log.warn({ err: error }, "no ingest shard can take the connection: closed");
      socket.destroy();
      closed();
      return;
    }
    this.host.accept(socket, shard, peer, closed);
  }

  start(): void {
    this.local.start();
  }

  async close(): Promise<void> {
    await Promise.all([this.host.close(), this.local.stop()]);
  }
}
