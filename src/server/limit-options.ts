import { DEFAULT_MAX_FRAME_BYTES } from "../protocol/frames.js";
import { MIN_MAX_FRAME_BYTES } from "../protocol/layout.js";
import { DEFAULT_RECENT_ANOMALIES } from "./anomaly-log.js";
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_UID } from "./connection-admission.js";
import { DEFAULT_MAX_CONTEXTS_PER_SESSION } from "./contexts/context-table.js";
import { InvalidOptionError } from "./errors.js";
import { DEFAULT_MAX_LIVE_ALLOCATIONS, DEFAULT_MAX_LIVE_ALLOCATIONS_PER_SESSION } from "./live-limit.js";
import { nonNegativeInteger, positiveInteger } from "./option-checks.js";
import type { ServerOptions } from "./options.js";
import { DEFAULT_REAPER_OPTIONS } from "./reaper.js";
import { DEFAULT_REORDER_BUDGET_BYTES } from "./reorder-budget.js";
import { DEFAULT_SEQUENCER_OPTIONS } from "./sequencer.js";
import {
  DEFAULT_MAX_DEVICES_PER_SESSION,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_SESSIONS_PER_PROCESS,
} from "./session-table.js";

/** How long a new connection has to complete HELLO, counted from accept, unless told otherwise, ms. */
export const DEFAULT_HELLO_TIMEOUT_MS = 5000;
/**
 * Bytes all native connections together may make the server hold (frames not yet complete, replies not
 * yet read) unless told otherwise: 64 connections each in the middle of a 1 MiB frame.
 */
export const DEFAULT_BUFFER_BUDGET_BYTES = 64 * 1024 * 1024;
/** Reply bytes that may wait unread for one client unless told otherwise. */
export const DEFAULT_MAX_OUTBOUND_BYTES = 1024 * 1024;
/** Largest reorder window per (session, device) that may be asked for, events. */
export const MAX_REORDER_CAPACITY = 1 << 24;
/** Most device ids a session may be allowed: every id a device can have (0xFFFF is ALL_DEVICES). */
export const MAX_DEVICES_PER_SESSION = 0xffff;

/** The timing and size limits of ServerOptions, checked, with their defaults filled in. */
export interface ResolvedLimitOptions {
  graceMs: number;
  gapTimeoutMs: number;
  sweepIntervalMs: number;
  /** Events, a power of two. */
  reorderCapacity: number;
  reorderBudgetBytes: number;
  maxDevicesPerSession: number;
  maxSessionsPerProcess: number;
  maxSessions: number;
  maxFrameBytes: number;
  helloTimeoutMs: number;
  bufferBudgetBytes: number;
  maxOutboundBytes: number;
  recentAnomalies: number;
  maxConnections: number;
  maxConnectionsPerUid: number;
  maxContextsPerSession: number;
  maxLiveAllocations: number;
  maxLiveAllocationsPerSession: number;
}

/** Checks the limits in a fixed order (one depends on another: bufferBudgetBytes on maxFrameBytes). */
export function resolveLimitOptions(options: ServerOptions): ResolvedLimitOptions {
  const graceMs = nonNegativeInteger(
    options.graceMs,
    DEFAULT_REAPER_OPTIONS.graceMs,
    "graceMs (--grace-ms)",
    "milliseconds",
  );
  const gapTimeoutMs = positiveInteger(
    options.gapTimeoutMs,
    DEFAULT_SEQUENCER_OPTIONS.gapTimeoutMs,
    "gapTimeoutMs (--gap-timeout-ms)",
    "milliseconds",
  );
  const sweepIntervalMs = positiveInteger(
    options.sweepIntervalMs,
    DEFAULT_REAPER_OPTIONS.sweepIntervalMs,
    "sweepIntervalMs",
    "milliseconds",
  );
  const reorderCapacity = positiveInteger(
    options.reorderCapacity,
    DEFAULT_SEQUENCER_OPTIONS.reorderCapacity,
    "reorderCapacity",
    "events",
  );
  if ((reorderCapacity & (reorderCapacity - 1)) !== 0 || reorderCapacity > MAX_REORDER_CAPACITY) {
    throw new InvalidOptionError(
      `reorderCapacity must be a power of two from 1 to 2^24 (e.g. ${DEFAULT_SEQUENCER_OPTIONS.reorderCapacity}), ` +
        `got ${reorderCapacity}`,
    );
  }
  const reorderBudgetBytes = positiveInteger(
    options.reorderBudgetBytes,
    DEFAULT_REORDER_BUDGET_BYTES,
    "reorderBudgetBytes (--reorder-budget-bytes)",
    "bytes",
  );
  const maxDevicesPerSession = positiveInteger(
    options.maxDevicesPerSession,
    DEFAULT_MAX_DEVICES_PER_SESSION,
    "maxDevicesPerSession (--max-devices-per-session)",
    "devices",
  );
  if (maxDevicesPerSession > MAX_DEVICES_PER_SESSION) {
    throw new InvalidOptionError(
      `maxDevicesPerSession (--max-devices-per-session) must be at most ${MAX_DEVICES_PER_SESSION} (every device id), ` +
        `got ${maxDevicesPerSession}`,
    );
  }
  const maxSessionsPerProcess = positiveInteger(
    options.maxSessionsPerProcess,
    DEFAULT_MAX_SESSIONS_PER_PROCESS,
    "maxSessionsPerProcess (--max-sessions-per-process)",
    "sessions",
  );
  const maxSessions = positiveInteger(
    options.maxSessions,
    DEFAULT_MAX_SESSIONS,
    "maxSessions (--max-sessions)",
    "sessions",
  );
  const maxFrameBytes = positiveInteger(
    options.maxFrameBytes,
    DEFAULT_MAX_FRAME_BYTES,
    "maxFrameBytes",
    "bytes",
  );
  if (maxFrameBytes < MIN_MAX_FRAME_BYTES || maxFrameBytes > DEFAULT_MAX_FRAME_BYTES) {
    throw new InvalidOptionError(
      `maxFrameBytes must be in ${MIN_MAX_FRAME_BYTES}..${DEFAULT_MAX_FRAME_BYTES} bytes (leave it out for the maximum), ` +
        `got ${maxFrameBytes}`,
    );
  }
  const helloTimeoutMs = positiveInteger(
    options.helloTimeoutMs,
    DEFAULT_HELLO_TIMEOUT_MS,
    "helloTimeoutMs (--hello-timeout-ms)",
    "milliseconds",
  );
  const bufferBudgetBytes = positiveInteger(
    options.bufferBudgetBytes,
    DEFAULT_BUFFER_BUDGET_BYTES,
    "bufferBudgetBytes (--buffer-budget-bytes)",
    "bytes",
  );
  if (bufferBudgetBytes < maxFrameBytes) {
    throw new InvalidOptionError(
      `bufferBudgetBytes (--buffer-budget-bytes) must be at least maxFrameBytes (${maxFrameBytes}), so that ` +
        `a connection can always receive a whole frame; got ${bufferBudgetBytes}`,
    );
  }
  const maxOutboundBytes = positiveInteger(
    options.maxOutboundBytes,
    DEFAULT_MAX_OUTBOUND_BYTES,
    "maxOutboundBytes (--max-outbound-bytes)",
    "bytes",
  );
  const recentAnomalies = nonNegativeInteger(
    options.recentAnomalies,
    DEFAULT_RECENT_ANOMALIES,
    "recentAnomalies",
    "anomalies",
  );
  const maxConnections = positiveInteger(
    options.maxConnections,
    DEFAULT_MAX_CONNECTIONS,
    "maxConnections (--max-connections)",
    "connections",
  );
  const maxConnectionsPerUid = limitWithin(
    options.maxConnectionsPerUid,
    DEFAULT_MAX_CONNECTIONS_PER_UID,
    "maxConnectionsPerUid (--max-connections-per-uid)",
    { value: maxConnections, name: "maxConnections (--max-connections)" },
    "connections",
  );
  const maxContextsPerSession = positiveInteger(
    options.maxContextsPerSession,
    DEFAULT_MAX_CONTEXTS_PER_SESSION,
    "maxContextsPerSession (--max-contexts-per-session)",
    "contexts",
  );
  const maxLiveAllocations = positiveInteger(
    options.maxLiveAllocations,
    DEFAULT_MAX_LIVE_ALLOCATIONS,
    "maxLiveAllocations (--max-live-allocations)",
    "allocations",
  );
  const maxLiveAllocationsPerSession = limitWithin(
    options.maxLiveAllocationsPerSession,
    DEFAULT_MAX_LIVE_ALLOCATIONS_PER_SESSION,
    "maxLiveAllocationsPerSession (--max-live-allocations-per-session)",
    { value: maxLiveAllocations, name: "maxLiveAllocations (--max-live-allocations)" },
    "allocations",
  );
  return {
    graceMs,
    gapTimeoutMs,
    sweepIntervalMs,
    reorderCapacity,
    reorderBudgetBytes,
    maxDevicesPerSession,
    maxSessionsPerProcess,
    maxSessions,
    maxFrameBytes,
    helloTimeoutMs,
    bufferBudgetBytes,
    maxOutboundBytes,
    recentAnomalies,
    maxConnections,
    maxConnectionsPerUid,
    maxContextsPerSession,
    maxLiveAllocations,
    maxLiveAllocationsPerSession,
  };
}

/**
 * A share of a larger limit (per uid of the connections, per session of the live allocations): by
 * default `defaultValue`, or the whole when that is lower; never above the whole.
 */
function limitWithin(
  value: number | undefined,
  defaultValue: number,
  name: string,
  whole: { value: number; name: string },
  unit: string,
): number {
  const resolved = positiveInteger(value, Math.min(defaultValue, whole.value), name, unit);
  if (resolved > whole.value) {
    throw new InvalidOptionError(
      `${name} ${resolved} is above ${whole.name} ${whole.value}: lower it, or raise ${whole.name.split(" ")[0]}`,
    );
  }
  return resolved;
}
