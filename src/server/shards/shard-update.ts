import type { DeviceDescriptor } from "../../protocol/frames.js";
import type { AnomalyRecord } from "../anomaly-log.js";
import type { LeakReport } from "../api-types.js";
import type { ReleaseReason } from "../session-table.js";

/**
 * What an ingest shard tells the main thread, in one message per update (at most one per turn of the
 * shard's event loop): what changed, in the order it happened. Plain data (structured clone).
 */
export interface ShardUpdate {
  notes: ShardNote[];
  /** The shard's counters now (the mirror sums the latest of every shard). */
  counters: ShardCounters;
}

/** A (session, device) ledger's totals now, and each changed type's lowest and highest since the last update. */
export interface LedgerUpdate {
  sessionId: string;
  deviceId: number;
  /** Bit t: memory type t changed; `low[t]`/`high[t]` are meaningful for those types only. */
  touched: number;
  low: number[];
  high: number[];
  used: number[];
  peak: number[];
  allocations: number[];
  live: number;
  overLimit: boolean;
  refused: number;
}

/** What the summary shows of a session, as it is now. */
export interface SessionFacts {
  sessionId: string;
  pid: number;
  processStartTicks: number;
  processName: string;
  source: string;
  connections: number;
  startedAtMs: number;
}

export type ShardNote =
  | { kind: "ledgers"; ledgers: LedgerUpdate[] }
  | { kind: "opened"; session: SessionFacts; reattached: boolean }
  /** The session's connections changed (a connection closed or joined). */
  | { kind: "connections"; sessionId: string; connections: number }
  | { kind: "idle"; sessionId: string }
  | { kind: "reattached"; sessionId: string }
  | { kind: "releasing"; sessionId: string; reason: ReleaseReason }
  | { kind: "released"; sessionId: string; reason: ReleaseReason; allocations: number }
  | { kind: "described"; sessionId: string; descriptor: DeviceDescriptor }
  | { kind: "forgotten"; sessionId: string; deviceIds: number[] }
  /** Anomalies recorded since the last update, the newest at most ANOMALIES_PER_UPDATE of them. */
  | { kind: "anomalies"; records: AnomalyRecord[] }
  /** A session ended holding allocations (leaks/leak-report.ts), without its archive id yet. */
  | { kind: "leak"; report: LeakReport };

/** Anomaly records one update carries at most; the rest are counted (ShardCounters.anomalies) but not listed. */
export const ANOMALIES_PER_UPDATE = 64;

export interface ShardCounters {
  eventsApplied: number;
  liveAllocations: number;
  allocationsRefused: number;
  freesExcused: number;
  overLimit: number;
  sequencer: {
    staleDiscarded: number;
    duplicatesDiscarded: number;
    overflowDropped: number;
    clientDropped: number;
    gaps: number;
    resyncRequests: number;
    snapshotsApplied: number;
    snapshotsIgnored: number;
    snapshotsAborted: number;
    recoveries: Record<string, number>;
  };
  connections: { open: number; accepted: number; protocolErrors: number; budgetClosures: number };
  anomalies: Record<string, number>;
  reorderBytes: number;
}
