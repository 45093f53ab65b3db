import { closeSync } from "node:fs";
import type { Socket } from "node:net";
import { type DescriptorDuplication, kernelDescriptorDuplication } from "../descriptor-dup.js";
import { kernelPeerCredentials, type PeerCredentialSource } from "../peer-credentials.js";
import {
  NoShardAvailableError,
  ShardHandOverError,
  ShardTransportUnavailableError,
  ShardUnavailableError,
} from "./errors.js";
import { CLAIM_ABANDONED, CLAIM_POSTED, type FromShard, type ToShard } from "./messages.js";
import type { ShardCallLane } from "./shard-calls.js";
import { ShardPlacement } from "./shard-placement.js";
import {
  respawnDelayFor,
  type ShardPoolOptions,
  type ShardPoolSettings,
  settleShardPoolOptions,
} from "./shard-pool-options.js";
import { ShardWorker } from "./shard-worker.js";

export type { ShardPoolOptions } from "./shard-pool-options.js";
export {
  DEFAULT_MAX_RESPAWN_DELAY_MS,
  DEFAULT_MAX_RESTARTS,
  DEFAULT_READY_TIMEOUT_MS,
  DEFAULT_RESPAWN_DELAY_MS,
  DEFAULT_STABLE_AFTER_MS,
  DEFAULT_STOP_TIMEOUT_MS,
  MAX_SHARDS,
  MAX_TIMER_MS,
} from "./shard-pool-options.js";

type ShardState = "up" | "restarting" | "down" | "closed";

/** A connection that lives on a shard, until the shard reports it closed or dies. */
interface HandedConnection {
  readonly shard: number;
  readonly pid: number | undefined;
  /** The copy posted to the worker: the main thread closes it only if the worker never adopted it. */
  readonly fd: number;
  readonly claim: Int32Array;
  readonly onClosed: () => void;
}

interface Shard {
  readonly index: number;
  state: ShardState;
  worker: ShardWorker | undefined;
  readonly connections: Map<number, HandedConnection>;
  /** Failures in a row, each soon after its start (see DEFAULT_STABLE_AFTER_MS). */
  failures: number;
  respawnTimer: NodeJS.Timeout | undefined;
}

/**
 * The main thread's side of the ingest shards (docs/ARCHITECTURE.md "Ingest on more than one core"):
 * N worker threads, each owning whole connections handed over by descriptor, sticky per peer pid;
 * asynchronous messages both ways; synchronous calls that block the main thread for a bounded time; a
 * worker that dies has its connections closed and is respawned, up to a bound. It knows nothing of
 * what the shards do: requests, replies, pushes and connection metadata are opaque.
 *
 * The listener must be created with `pauseOnConnect: true` in sharded mode: bytes the main thread read
 * would be lost to the shard, so handOver refuses a socket that has started reading.
 */
export class ShardPool {
  readonly size: number;
  private readonly shards: Shard[];
  private readonly placement: ShardPlacement;
  private readonly messageListeners: Array<(shard: number, message: unknown) => void> = [];
  private readonly restartListeners: Array<(shard: number) => void> = [];
  private readonly exitListeners: Array<(shard: number) => void> = [];
  private nextConnectionId = 1;
  private closing: Promise<void> | undefined;

  /**
   * Starts `options.shards` workers; resolves when every one has said it is ready. Rejects with
   * ShardTransportUnavailableError where descriptors cannot be copied (the server then stays on one
   * thread), ShardOptionError for a bad option, ShardStartError (the first shard that failed, with
   * its cause) after terminating the others.
   */
  static async start(options: ShardPoolOptions): Promise<ShardPool> {
    const settings = settleShardPoolOptions(options);
    const duplication = options.duplication ?? kernelDescriptorDuplication();
    if (!duplication.available) throw new ShardTransportUnavailableError(duplication.unavailableReason!);
    const pool = new ShardPool(settings, duplication, options.credentials ?? kernelPeerCredentials());
    const started = await Promise.allSettled(pool.shards.map((shard) => pool.spawn(shard)));
    const failed = started.find((result) => result.status === "rejected");
    if (failed !== undefined) {
      await pool.close();
      throw (failed as PromiseRejectedResult).reason;
    }
    return pool;
  }

  private constructor(
    private readonly settings: ShardPoolSettings,
    private readonly duplication: DescriptorDuplication,
    private readonly credentials: PeerCredentialSource,
  ) {
    this.size = settings.shards;
    this.placement = new ShardPlacement(this.size);
    this.shards = Array.from({ length: this.size }, (_, index) => ({
      index,
      state: "restarting" as ShardState,
      worker: undefined,
      connections: new Map(),
      failures: 0,
      respawnTimer: undefined,
    }));
  }

  /** Open handed-over connections of each shard, in shard order. */
  get connections(): readonly number[] {
    return this.placement.connections;
  }

  /** Late call replies dropped on each shard's lane since its current worker started. */
  get lateReplies(): readonly number[] {
    return this.shards.map((shard) => shard.worker?.lane.lateReplies ?? 0);
  }

  /**
   * The shard for a new connection of `pid`: the one its open connections are on, else the up shard
   * with the fewest open connections (lowest index on ties); undefined pid: always the latter.
   * Throws NoShardAvailableError when no shard is up.
   */
  shardFor(pid: number | undefined): number {
    const stuck = this.placement.stuck(pid);
    if (stuck !== undefined) return stuck;
    const shard = this.placement.leastLoaded((index) => this.shards[index]!.state === "up");
    if (shard === -1) throw new NoShardAvailableError(this.size);
    return shard;
  }

  /**
   * Moves `socket` to `shard`: copies its descriptor, posts the copy with `meta` (structured-cloneable)
   * and destroys this thread's handle; the peer notices nothing. `onClosed` runs exactly once: when the
   * shard reports the connection closed, or when the shard dies or the pool closes. Throws, leaving the
   * socket as it was: ShardUnavailableError (shard not up), ShardHandOverError (no descriptor, already
   * reading, pid stuck to another shard, the copy or the post failed).
   */
  handOver(socket: Socket, shard: number, meta: unknown, onClosed: () => void): void {
    const target = this.usable(shard);
    const handle = (socket as unknown as { _handle?: { fd?: unknown; reading?: unknown } | null })._handle;
    const fd = handle?.fd;
    if (typeof fd !== "number" || fd < 0) {
      throw new ShardHandOverError("the socket has no descriptor (it is closed, or not a connected socket)");
    }
    if (handle!.reading !== false || socket.bytesRead > 0 || socket.readableLength > 0) {
      throw new ShardHandOverError(
        "the socket has started reading; in sharded mode the listener must use pauseOnConnect: true",
      );
    }
    if (socket.writableLength > 0) {
      throw new ShardHandOverError("the socket has unsent bytes that the handover would drop");
    }
    const pid = this.credentials.of(socket)?.pid;
    const stuck = this.placement.stuck(pid);
    if (stuck !== undefined && stuck !== shard) {
      throw new ShardHandOverError(`pid ${pid} has open connections on shard ${stuck}, not ${shard}`);
    }
    let copy: number;
    try {
      copy = this.duplication.dup(fd);
    } catch (error) {
      throw new ShardHandOverError(
        `could not copy the socket's descriptor: ${(error as Error).message}`,
        error,
      );
    }
    const id = this.nextConnectionId++;
    const claim = new SharedArrayBuffer(4);
    const message: ToShard = { kind: "connection", id, fd: copy, meta, claim };
    try {
      target.worker!.post(message);
    } catch (error) {
      closeSync(copy);
      throw new ShardHandOverError(`could not post the connection: ${(error as Error).message}`, error);
    }
    target.connections.set(id, { shard, pid, fd: copy, claim: new Int32Array(claim), onClosed });
    this.placement.add(shard, pid);
    // Closes this thread's descriptor only (no shutdown): the copy keeps the connection open.
    socket.destroy();
  }

  /**
   * Sends `request` to `shard` and blocks this thread until its reply (its handler's return value).
   * Throws ShardUnavailableError, ShardCallTimeoutError (no reply within callTimeoutMs; a shard that
   * dies mid-call reads as one), ShardCallFailedError (the handler threw), or the DataCloneError of an
   * uncloneable request.
   */
  call(shard: number, request: unknown): unknown {
    const lane = this.usable(shard).worker!.lane;
    const id = lane.send(request);
    const timeoutMs = this.settings.callTimeoutMs;
    return lane.await(id, performance.now() + timeoutMs, timeoutMs);
  }

  /**
   * `call` on every shard at once (all blocked on together: one callTimeoutMs bounds the whole), the
   * replies in shard order. Every reply is awaited; then the first failure in shard order is thrown.
   */
  callAll(request: unknown): unknown[] {
    const timeoutMs = this.settings.callTimeoutMs;
    const deadline = performance.now() + timeoutMs;
    const sent = this.shards.map((shard): { lane: ShardCallLane; id: number } | { error: unknown } => {
      try {
        const lane = this.usable(shard.index).worker!.lane;
        return { lane, id: lane.send(request) };
      } catch (error) {
        return { error };
      }
    });
    const replies: unknown[] = [];
    let failure: { error: unknown } | undefined;
    for (const attempt of sent) {
      if ("error" in attempt) {
        failure ??= { error: attempt.error };
        continue;
      }
      try {
        replies.push(attempt.lane.await(attempt.id, deadline, timeoutMs));
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== undefined) throw failure.error;
    return replies;
  }

  /** An asynchronous message to `shard` (its handlers.message). Throws ShardUnavailableError. */
  post(shard: number, message: unknown): void {
    const toShard: ToShard = { kind: "message", message };
    this.usable(shard).worker!.post(toShard);
  }

  /** Messages shards push (ShardPort.push), in the order each shard pushed them. */
  onMessage(listener: (shard: number, message: unknown) => void): void {
    this.messageListeners.push(listener);
  }

  /**
   * A worker exited unexpectedly: runs after its connections' `onClosed`, before any respawn (and also
   * when the shard is given up), so that what the main thread kept of its state can go at once.
   */
  onShardExit(listener: (shard: number) => void): void {
    this.exitListeners.push(listener);
  }

  /**
   * A shard's worker exited unexpectedly and its replacement is now ready (its state starts empty: its
   * connections were closed, each with its onClosed, when the old one died).
   */
  onShardRestart(listener: (shard: number) => void): void {
    this.restartListeners.push(listener);
  }

  /**
   * Asks every worker to stop (handlers.stop), waits up to stopTimeoutMs for each to end, then
   * terminates the rest. Every open connection's onClosed has run when it resolves. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    const stopping = this.shards.map(async (shard) => {
      clearTimeout(shard.respawnTimer);
      shard.state = "closed";
      await shard.worker?.stop(this.settings.stopTimeoutMs);
      this.dropConnections(shard);
    });
    await Promise.all(stopping);
  }

  private usable(shard: number): Shard {
    const target = this.shards[shard];
    if (target === undefined || !Number.isInteger(shard)) {
      throw new ShardHandOverError(`there is no shard ${shard} (the pool has ${this.size})`);
    }
    if (target.state !== "up") throw new ShardUnavailableError(shard, target.state);
    return target;
  }

  /** Starts `shard`'s worker; resolves once it is ready (and up), rejects with ShardStartError. */
  private spawn(shard: Shard): Promise<void> {
    const { worker, ready } = ShardWorker.start(
      shard.index,
      this.settings.workerUrl,
      this.settings.workerData,
      this.settings.readyTimeoutMs,
      {
        message: (message) => this.fromShard(shard, worker!, message),
        exit: (code, error) => this.exited(shard, worker!, code, error),
      },
    );
    shard.worker = worker;
    return ready.then(
      () => {
        // A thread that exited right after its "ready" emits both in one turn: the exit came first here.
        if (shard.state === "closed" || shard.worker !== worker || worker!.hasExited) return;
        shard.state = "up";
      },
      (error: unknown) => {
        if (shard.worker === worker) shard.worker = undefined;
        throw error;
      },
    );
  }

  private fromShard(shard: Shard, worker: ShardWorker, message: FromShard): void {
    if (shard.worker !== worker) return;
    switch (message.kind) {
      case "push":
        for (const listener of this.messageListeners) {
          this.guard(() => listener(shard.index, message.message), "onMessage listener");
        }
        return;
      case "closed":
        this.finish(shard, message.id);
        return;
      case "connection-failed":
        this.settings.log.error(
          { shard: shard.index, connection: message.id, err: message.message },
          "shard could not take a handed-over connection; it was closed",
        );
        return;
      case "ready":
        return;
    }
  }

  /** The connection is gone: its onClosed runs and its pid lets go (once; later reports are ignored). */
  private finish(shard: Shard, id: number): void {
    const connection = shard.connections.get(id);
    if (connection === undefined) return;
    shard.connections.delete(id);
    this.placement.remove(shard.index, connection.pid);
    this.guard(connection.onClosed, "onClosed");
  }

  /** Every connection of a shard whose worker has ended. */
  private dropConnections(shard: Shard): void {
    for (const [id, connection] of shard.connections) {
      // Never adopted (the worker died first): the copy is still ours to close.
      if (Atomics.compareExchange(connection.claim, 0, CLAIM_POSTED, CLAIM_ABANDONED) === CLAIM_POSTED) {
        try {
          closeSync(connection.fd);
        } catch {
          // nothing more to do for a descriptor that cannot be closed
        }
      }
      this.finish(shard, id);
    }
  }

  private exited(shard: Shard, worker: ShardWorker, code: number, error: Error | undefined): void {
    if (shard.worker !== worker) return;
    shard.worker = undefined;
    if (shard.state === "closed") return; // close() is ending it and drops the connections itself
    const lostConnections = shard.connections.size;
    const ranMs = performance.now() - (worker.readyAtMs ?? performance.now());
    this.settings.log.error(
      { shard: shard.index, exitCode: code, err: error, ranMs: Math.round(ranMs), lostConnections },
      "shard worker exited unexpectedly; its connections are closed",
    );
    this.dropConnections(shard);
    for (const listener of this.exitListeners)
      this.guard(() => listener(shard.index), "onShardExit listener");
    shard.failures = ranMs >= this.settings.stableAfterMs ? 1 : shard.failures + 1;
    this.scheduleRespawn(shard);
  }

  private scheduleRespawn(shard: Shard): void {
    if (shard.failures > this.settings.maxRestarts) {
      shard.state = "down";
      this.settings.log.error(
        { shard: shard.index, failures: shard.failures },
        `shard is down: its worker failed ${shard.failures} times in a row; it is not restarted`,
      );
      return;
    }
    shard.state = "restarting";
    const delayMs = respawnDelayFor(shard.failures, this.settings);
    this.settings.log.warn(
      { shard: shard.index, failures: shard.failures, delayMs },
      `shard worker is restarted in ${delayMs} ms`,
    );
    shard.respawnTimer = setTimeout(() => {
      shard.respawnTimer = undefined;
      if (shard.state === "closed") return;
      this.spawn(shard).then(
        () => {
          if (shard.state !== "up") return;
          this.settings.log.info({ shard: shard.index }, "shard worker restarted");
          for (const listener of this.restartListeners) {
            this.guard(() => listener(shard.index), "onShardRestart listener");
          }
        },
        (error: unknown) => {
          if (shard.state === "closed") return;
          this.settings.log.error({ shard: shard.index, err: error }, "shard worker did not restart");
          shard.failures++;
          this.scheduleRespawn(shard);
        },
      );
    }, delayMs);
    shard.respawnTimer.unref();
  }

  private guard(run: () => void, what: string): void {
    try {
      run();
    } catch (error) {
      this.settings.log.error({ err: error }, `${what} threw`);
    }
  }
}
