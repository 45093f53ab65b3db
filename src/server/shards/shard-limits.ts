import type { IngestLimits } from "../ingest.js";

/**
 * One shard's share of the server's limits, with `shards` ingest shards. Sessions and the byte budgets
 * are split evenly, rounded down, at least 1 each: the sum never passes what the server was given, at
 * the cost of a shard refusing while another has room. Live allocations are not split: every shard
 * reserves from one shared count (live-pool.ts). Bounds of one session or process are kept whole: its
 * connections all land on one shard.
 */
export function shardLimits(limits: IngestLimits, shards: number): IngestLimits {
  const share = (value: number) => Math.max(1, Math.floor(value / shards));
  return {
    ...limits,
    maxSessions: share(limits.maxSessions),
    reorderBudgetBytes: share(limits.reorderBudgetBytes),
    bufferBudgetBytes: share(limits.bufferBudgetBytes),
  };
}

/** The IngestLimits part of the server's resolved options (plain data a worker thread can take). */
export function ingestLimitsOf(options: IngestLimits): IngestLimits {
  return {
    graceMs: options.graceMs,
    sweepIntervalMs: options.sweepIntervalMs,
    gapTimeoutMs: options.gapTimeoutMs,
    reorderCapacity: options.reorderCapacity,
    reorderBudgetBytes: options.reorderBudgetBytes,
    maxDevicesPerSession: options.maxDevicesPerSession,
    maxContextsPerSession: options.maxContextsPerSession,
    maxLiveAllocations: options.maxLiveAllocations,
    maxLiveAllocationsPerSession: options.maxLiveAllocationsPerSession,
    maxSessionsPerProcess: options.maxSessionsPerProcess,
    maxSessions: options.maxSessions,
    maxFrameBytes: options.maxFrameBytes,
    helloTimeoutMs: options.helloTimeoutMs,
    bufferBudgetBytes: options.bufferBudgetBytes,
    maxOutboundBytes: options.maxOutboundBytes,
    recentAnomalies: options.recentAnomalies,
    verbose: options.verbose,
  };
}
