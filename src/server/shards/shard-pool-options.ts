import type { Logger } from "pino";
import type { DescriptorDuplication } from "../descriptor-dup.js";
import type { PeerCredentialSource } from "../peer-credentials.js";
import { ShardOptionError } from "./errors.js";

/** Most shards a pool may have: far above any core count this server is run on. */
export const MAX_SHARDS = 256;
/** Delay before the first respawn of a shard whose worker exited, ms (doubled per failure in a row). */
export const DEFAULT_RESPAWN_DELAY_MS = 1000;
/**
 * Longest delay before a respawn, ms, however many failures came before (a respawnDelayMs above it is
 * not shortened: every delay is then respawnDelayMs; see respawnDelayFor).
 */
export const DEFAULT_MAX_RESPAWN_DELAY_MS = 30_000;
/**
 * Restarts in a row a shard gets: the failure after that many (each within stableAfterMs of its
 * start) leaves it down.
 */
export const DEFAULT_MAX_RESTARTS = 5;
/** A worker that ran this long before it exited had not been failing: the failure count starts over, ms. */
export const DEFAULT_STABLE_AFTER_MS = 60_000;
/** How long a starting worker may take to say it is ready, ms. */
export const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** How long close() waits for a worker to end after asking it to stop before terminating it, ms. */
export const DEFAULT_STOP_TIMEOUT_MS = 5000;
/** Longest delay a Node timer keeps (a longer one fires after 1 ms), ms: the bound of every timer setting. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ShardPoolOptions {
  /** Worker threads, 1..MAX_SHARDS. */
  shards: number;
  /** The worker's entry module; it calls connectShard (shard-port.ts) and then ready(). */
  workerUrl: URL;
  /** Cloned into each worker (shardContext().workerData / ShardPort.workerData). */
  workerData: unknown;
  /** How long call/callAll block for replies, ms. */
  callTimeoutMs: number;
  /** Default DEFAULT_RESPAWN_DELAY_MS; at most MAX_TIMER_MS. */
  respawnDelayMs?: number;
  /** Default DEFAULT_MAX_RESPAWN_DELAY_MS; at most MAX_TIMER_MS. */
  maxRespawnDelayMs?: number;
  /** Default DEFAULT_MAX_RESTARTS. */
  maxRestarts?: number;
  /** Default DEFAULT_STABLE_AFTER_MS. */
  stableAfterMs?: number;
  /** Default DEFAULT_READY_TIMEOUT_MS; at most MAX_TIMER_MS. */
  readyTimeoutMs?: number;
  /** Default DEFAULT_STOP_TIMEOUT_MS; at most MAX_TIMER_MS. */
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
    maxRespawnDelayMs: options.maxRespawnDelayMs ?? DEFAULT_MAX_RESPAWN_DELAY_MS,
    maxRestarts: options.maxRestarts ?? DEFAULT_MAX_RESTARTS,
    stableAfterMs: options.stableAfterMs ?? DEFAULT_STABLE_AFTER_MS,
    readyTimeoutMs: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
    stopTimeoutMs: options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
    log: options.log,
  };
  if (!Number.isInteger(settings.shards) || settings.shards < 1 || settings.shards > MAX_SHARDS) {
    throw new ShardOptionError(`shards must be an integer from 1 to ${MAX_SHARDS}, not ${settings.shards}`);
  }
  for (const name of ["callTimeoutMs", "stableAfterMs"] as const) {
    const value: unknown = settings[name];
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new ShardOptionError(`${name} must be a positive number of milliseconds, not ${String(value)}`);
    }
  }
  // Each of these sets a timer: past MAX_TIMER_MS, Node would fire it after 1 ms instead.
  for (const name of ["respawnDelayMs", "maxRespawnDelayMs", "readyTimeoutMs", "stopTimeoutMs"] as const) {
    const value: unknown = settings[name];
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > MAX_TIMER_MS) {
      throw new ShardOptionError(
        `${name} must be a positive number of milliseconds up to ${MAX_TIMER_MS}, not ${String(value)}`,
      );
    }
  }
  if (!Number.isInteger(settings.maxRestarts) || settings.maxRestarts < 0) {
    throw new ShardOptionError(`maxRestarts must be a non-negative integer, not ${settings.maxRestarts}`);
  }
  return settings;
}

/**
 * The delay before respawning a shard after `failures` failures in a row (1 for the first), ms:
 * respawnDelayMs doubled per failure after the first, at most maxRespawnDelayMs. A respawnDelayMs above
 * maxRespawnDelayMs is never shortened (it is what the caller asked for the first delay): it is then
 * every delay.
 */
export function respawnDelayFor(
  failures: number,
  settings: Pick<ShardPoolSettings, "respawnDelayMs" | "maxRespawnDelayMs">,
): number {
  const longestMs = Math.max(settings.maxRespawnDelayMs, settings.respawnDelayMs);
  // 2 ** n is Infinity past n = 1023, and min() then gives the cap: no overflow to guard against.
  return Math.min(settings.respawnDelayMs * 2 ** Math.max(failures - 1, 0), longestMs);
}
