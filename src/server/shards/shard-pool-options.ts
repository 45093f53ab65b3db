import type { Logger } from "pino";
import type { DescriptorDuplication } from "../descriptor-dup.js";
import type { PeerCredentialSource } from "../peer-credentials.js";
import { ShardOptionError } from "./errors.js";

/** Most shards a pool may have: far above any core count this server is run on. */
export const MAX_SHARDS = 256;
/** Delay before the first respawn of a shard whose worker exited, ms (doubled per failure in a row). */
export const DEFAULT_RESPAWN_DELAY_MS = 1000;
/** Longest delay before a respawn, ms, however many failures came before. */
export const MAX_RESPAWN_DELAY_MS = 30_000;
/** Failures in a row (each within stableAfterMs of its start) after which a shard stays down. */
export const DEFAULT_MAX_RESTARTS = 5;
/** A worker that ran this long before it exited had not been failing: the failure count starts over, ms. */
export const DEFAULT_STABLE_AFTER_MS = 60_000;
/** How long a starting worker may take to say it is ready, ms. */
export const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** How long close() waits for a worker to end after asking it to stop before terminating it, ms. */
export const DEFAULT_STOP_TIMEOUT_MS = 5000;

export interface ShardPoolOptions {
  /** Worker threads, 1..MAX_SHARDS. */
  shards: number;
  /** The worker's entry module; it calls connectShard (shard-port.ts) and then ready(). */
  workerUrl: URL;
  /** Cloned into each worker (shardContext().workerData / ShardPort.workerData). */
  workerData: unknown;
  /** How long call/callAll block for replies, ms. */
  callTimeoutMs: number;
  /** Default DEFAULT_RESPAWN_DELAY_MS. */
  respawnDelayMs?: number;
  /** Default DEFAULT_MAX_RESTARTS. */
  maxRestarts?: number;
  /** Default DEFAULT_STABLE_AFTER_MS. */
  stableAfterMs?: number;
  /** Default DEFAULT_READY_TIMEOUT_MS. */
  readyTimeoutMs?: number;
  /** Default DEFAULT_STOP_TIMEOUT_MS. */
  stopTimeoutMs?: number;
  log: Logger;
  /** Where descriptor copies come from; default the native addon (kernelDescriptorDuplication). */
  duplication?: DescriptorDuplication;
  /** Where a handed-over socket's pid is read; default the kernel's (kernelPeerCredentials). */
  credentials?: PeerCredentialSource;
}

/** ShardPoolOptions with every default filled in (the injected sources apart). */
export type ShardPoolSettings = Required<Omit<ShardPoolOptions, "duplication" | "credentials">>;

/** The options with their defaults filled in; throws ShardOptionError for one out of bounds. */
export function settleShardPoolOptions(options: ShardPoolOptions): ShardPoolSettings {
  const settings = {
    shards: options.shards,
    workerUrl: options.workerUrl,
    workerData: options.workerData,
    callTimeoutMs: options.callTimeoutMs,
    respawnDelayMs: options.respawnDelayMs ?? DEFAULT_RESPAWN_DELAY_MS,
    maxRestarts: options.maxRestarts ?? DEFAULT_MAX_RESTARTS,
    stableAfterMs: options.stableAfterMs ?? DEFAULT_STABLE_AFTER_MS,
    readyTimeoutMs: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    stopTimeoutMs: options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
    log: options.log,
  };
  if (!Number.isInteger(settings.shards) || settings.shards < 1 || settings.shards > MAX_SHARDS) {
    throw new ShardOptionError(`shards must be an integer from 1 to ${MAX_SHARDS}, not ${settings.shards}`);
  }
  for (const name of [
    "callTimeoutMs",
    "respawnDelayMs",
    "stableAfterMs",
    "readyTimeoutMs",
    "stopTimeoutMs",
  ]) {
    const value = settings[name as keyof typeof settings];
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new ShardOptionError(`${name} must be a positive number of milliseconds, not ${String(value)}`);
    }
  }
  if (!Number.isInteger(settings.maxRestarts) || settings.maxRestarts < 0) {
    throw new ShardOptionError(`maxRestarts must be a non-negative integer, not ${settings.maxRestarts}`);
  }
  return settings;
}
