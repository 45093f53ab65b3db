import type { AnomalyLog } from "./anomaly-log.js";
import type { SessionLinks } from "./gap-rule.js";
import { RecoveryCounts } from "./recovery-counts.js";
import type { Ledger, Registry } from "./registry.js";
import type { ReorderBudget } from "./reorder-budget.js";
import type { SnapshotIntakeBudget } from "./snapshot-collector.js";
import type { TimerScheduler } from "./timers.js";

/** Tunables of every sequencer, validated once at the edge (server options). */
export interface SequencerOptions {
  /**
   * The reorder window, events; power of two: an event at most this far ahead of the missing number
   * waits for it, one further ahead is dropped and a snapshot asked for at once. So at most this many
   * events wait per (session, device); the memory they take follows how many wait (about 34 to 136
   * bytes each), never the distance, and comes from the server-wide ReorderBudget.
   */
  reorderCapacity: number;
  /** How long a missing sequence number is waited for before a resync is requested, ms. */
  gapTimeoutMs: number;
  /** Largest snapshot accepted (live allocations in one SNAPSHOT_BEGIN). */
  maxSnapshotAllocations: number;
}

export const DEFAULT_SEQUENCER_OPTIONS: SequencerOptions = {
  // Three client queues' worth of events (4 MiB of 48-byte records each): a connection behind its
  // siblings by more is better served by a snapshot.
  reorderCapacity: 1 << 16,
  // Generous: a connection lagging behind its siblings on a loaded host is not a lost event.
  gapTimeoutMs: 1000,
  maxSnapshotAllocations: 16_000_000,
};

/** Server-wide counters the sequencers add to (reported by the API). */
export class SequencerCounters {
  /** Events with seq already covered by a snapshot (expected in flight during a resync). */
  staleDiscarded = 0;
  /** Events with seq already applied and not covered by any snapshot (DUPLICATE_SEQ anomalies). */
  duplicatesDiscarded = 0;
  /** Events dropped because they lay beyond the reorder window or the reorder budget was spent. */
  overflowDropped = 0;
  /**
   * Events a client dropped (full queue, no server, a lost connection) and a snapshot stood in for:
   * sequence numbers an applied snapshot covers that never reached the server (docs/METRICS.md).
   */
  clientDropped = 0;
  /** Missing numbers declared lost by the gap rule (GAP_TIMEOUT recoveries). */
  gaps = 0;
  /** RESYNC_REQUESTs asked of sessions (first requests and retries). */
  resyncRequests = 0;
  snapshotsApplied = 0;
  /** Snapshots older than the state already applied, ignored. */
  snapshotsIgnored = 0;
  /** Snapshots cut off (connection closed) or inconsistent. */
  snapshotsAborted = 0;
  /** Transport recoveries by kind (not anomalies: the view stays exact). */
  readonly recoveries = new RecoveryCounts();
}

export interface SequencerDeps {
  registry: Registry;
  ledger: Ledger;
  anomalies: AnomalyLog;
  counters: SequencerCounters;
  timers: TimerScheduler;
  options: SequencerOptions;
  /** Server-wide bytes for reorder buffers. */
  budget: ReorderBudget;
  /** Server-wide entries for snapshots in progress; absent: bounded only by the per-session limit. */
  intakeBudget?: SnapshotIntakeBudget;
  /** The session's live connections, for the gap rule. */
  links: SessionLinks;
  /** Asks the session's client for a snapshot of this device (on any live connection). */
  requestResync: (deviceId: number, reason: string) => void;
}
