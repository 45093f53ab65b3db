import type { Socket } from "node:net";
import type { Logger } from "pino";
import { AnomalyLog } from "../anomaly-log.js";
import type { Ingest, IngestLimits } from "../ingest.js";
import type { LeakArchive } from "../leaks/leak-archive.js";
import type { ResolvedServerOptions } from "../options.js";
import type { PeerCredentials } from "../peer-credentials.js";
import type { ProcessLiveness } from "../process-liveness.js";
import type { UsageSeries } from "../series/usage-series.js";
import type { TimerScheduler } from "../timers.js";
import { ShardTransportUnavailableError } from "./errors.js";
import { LivePool } from "./live-pool.js";
import { ShardAllocations } from "./shard-allocations.js";
import { ShardCore } from "./shard-core.js";
import { LocalShards, type ShardHost } from "./shard-host.js";
import { ingestLimitsOf, shardLimits } from "./shard-limits.js";
import { ShardMirror } from "./shard-mirror.js";
import { startWorkerShards } from "./worker-shards.js";

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
    host.onShardExit?.((shard) => this.mirror.dropShard(shard));
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

/**
 * Whether `--ingest-threads` N > 1 can be honoured: shards are chosen by the kernel's pid of each peer
 * (all connections of a process on one shard), and sockets move to worker threads by a descriptor copy;
 * both need the native addon. Without peer credentials the server runs on one thread, and says so.
 */
function shardable(resolved: ResolvedServerOptions, log: Logger): boolean {
  if (resolved.peerCredentials.available) return true;
  log.warn(
    { ingestThreads: resolved.ingestThreads, reason: resolved.peerCredentials.unavailableReason },
    "--ingest-threads needs peer credentials (a process's connections must share a shard): ingesting on one thread",
  );
  return false;
}

/**
 * The shards of `--ingest-threads` N > 1 and the main thread's side of them; undefined (and a warning)
 * where they cannot run: the server then ingests on one thread.
 */
export async function startShardedIngest(
  resolved: ResolvedServerOptions,
  log: Logger,
  series: UsageSeries,
  archive: () => LeakArchive,
): Promise<ShardedIngest | undefined> {
  if (!shardable(resolved, log)) return undefined;
  const { timers, liveness, epochMs } = resolved;
  // The workers and the main thread's own shard (legacy) share the server-wide limits.
  const shards = resolved.ingestThreads + 1;
  const limits = shardLimits(ingestLimitsOf(resolved), shards);
  // One live-allocation count for them all (zeroed shared memory; every shard maps the same buffer).
  const livePoolBuffer = new SharedArrayBuffer(LivePool.BYTES);
  const livePool = new LivePool(livePoolBuffer, resolved.maxLiveAllocations, shards);
  let host: ShardHost;
  if (resolved.shardsOnMainThread) {
    host = new LocalShards(resolved.ingestThreads, limits, { log, timers, liveness, epochMs, livePool });
  } else {
    try {
      host = await startWorkerShards(resolved.ingestThreads, limits, {
        log,
        logLevel: resolved.logLevel,
        credentials: resolved.peerCredentials,
        livePool: { buffer: livePoolBuffer, shards },
      });
    } catch (error) {
      // The addon cannot copy descriptors (an older build): sockets cannot move to threads.
      if (!(error instanceof ShardTransportUnavailableError)) throw error;
      log.warn(
        { reason: error.message },
        "--ingest-threads: sockets cannot move to threads here; ingesting on one thread",
      );
      return undefined;
    }
  }
  return new ShardedIngest(host, limits, { log, timers, liveness, epochMs, series, archive, livePool });
}
