/**
 * The leak reports of the public API (`GET /api/v1/leaks`, docs/API.md), re-exported by api-types.ts.
 * All byte counts are JSON numbers; times are milliseconds.
 */
import type { ApiMemoryType, PerMemoryType } from "../api-types.js";

/** One allocation a process still held when its session ended. */
export interface LeakedAllocation {
  deviceId: number;
  memoryType: ApiMemoryType;
  allocationId: number;
  /** Device address (per-bank offset for banked memory), bytes. */
  address: number;
  sizeBytes: number;
  /** How long it had been live when the session ended, ms. */
  ageMs: number;
  /** What the allocation was for (operation or label the client named); "" when the client named none. */
  context: string;
}

/** The leaked allocations of one context (operation or label; "" = none named). */
export interface LeakContextGroup {
  context: string;
  allocations: PerMemoryType;
  bytes: PerMemoryType;
}

/**
 * What a session still held when it ended without freeing it (process exit, SIGKILL, grace expired),
 * recorded before the server released it. A clean exit (everything freed) records none.
 */
export interface LeakReport {
  /** Unique within its archive, increasing (the in-memory archive numbers from 1 at each server start). */
  id: number;
  sessionId: string;
  pid: number;
  processName: string;
  /** When the session began and ended, ms since the epoch. */
  startedAtMs: number;
  endedAtMs: number;
  /**
   * Why the session was released: "process-exited", "grace-expired", "goodbye" (it said GOODBYE yet held
   * allocations: it exited without freeing them), "superseded". A server shutdown records no report.
   */
  reason: string;
  /** Live allocations and their bytes per memory type (summed over devices) at the end. */
  allocations: PerMemoryType;
  bytes: PerMemoryType;
  /** The largest (most bytes first) and oldest (longest live first) leaked allocations, at most 10 each. */
  largest: LeakedAllocation[];
  oldest: LeakedAllocation[];
  /** Every context that leaked, most bytes first (at most 64; the rest summed into context "(other)"). */
  byContext: LeakContextGroup[];
  /**
   * Present (true) when the server's live-allocation limits had refused allocations of the session on
   * some device and no snapshot had made up for them by its end: what the report counts is a lower bound
   * (the refused allocations are not known to the server). Absent otherwise, and in reports of servers
   * older than the limits.
   */
  overLimit?: true;
}

/** `GET /api/v1/leaks?pid=&limit=` (limit 1..1000, default 100): newest first. */
export interface LeaksResponse {
  reports: LeakReport[];
}
