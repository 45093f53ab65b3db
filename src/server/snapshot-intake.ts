import type { SequencerDeps } from "./sequencer-deps.js";
import type { SnapshotCollector } from "./snapshot-collector.js";

/**
 * The cold side of one device's snapshots, apart from the Sequencer's ordering: which connections'
 * snapshots are being ignored, whether one is refused or a part is out of place (SNAPSHOT_INVALID),
 * swapping a complete one into the registry, and what it stands in for that never reached the server
 * (the client-dropped-events count).
 */
export class SnapshotIntake {
  /** Connections whose current snapshot of this device is being ignored (their chunks and END too). */
  readonly ignoredSources = new Set<number>();
  /** Events the ring refused since the last snapshot began (received, so not the client's drops). */
  private refusedSinceSnapshot = 0;
  /** Sequence numbers the snapshot being received stands in for that never reached the server. */
  private snapshotUnreceived = 0;

  constructor(
    private readonly deviceId: number,
    private readonly deps: SequencerDeps,
  ) {}

  /** An event the reorder ring refused: the server received it, so a snapshot covering it is no client drop. */
  refused(): void {
    this.refusedSinceSnapshot++;
  }

  /**
   * True (and SNAPSHOT_INVALID recorded, the source ignored) when SNAPSHOT_BEGIN announces more
   * allocations than the server accepts.
   */
  refuseOversized(source: number, totalAllocations: number): boolean {
    const limit = this.deps.options.maxSnapshotAllocations;
    if (totalAllocations <= limit) return false;
    this.ignoredSources.add(source);
    this.deps.anomalies.record(
      "SNAPSHOT_INVALID",
      this.deps.ledger.account,
      this.deviceId,
      `snapshot announces ${totalAllocations} allocations; the limit is ${limit}`,
    );
    this.deps.counters.snapshotsAborted++;
    return true;
  }

  /**
   * What SNAPSHOT_BEGIN covers without the server having received it: `covered` sequence numbers neither
   * applied nor held, less those the server itself refused (counted as recoveries). Added to
   * `clientDropped` when the snapshot is applied. A sequencer's first snapshot before any event
   * (`first`) is not counted: what it covers went to an earlier server (a restart) or was recorded
   * before the process ever reached one.
   */
  countUnreceived(replacing: boolean, covered: number, first: boolean): void {
    const unreceived = Math.max(0, covered - this.refusedSinceSnapshot);
    this.refusedSinceSnapshot = 0;
    this.snapshotUnreceived = (replacing ? this.snapshotUnreceived : 0) + (first ? 0 : unreceived);
  }

  /**
   * Swaps a complete snapshot in for the ledger's allocations, stamped `nowMs`, and counts it. Entries
   * the collector had no room for, and those past a live-allocation limit, are counted as refused and
   * leave the ledger marked (LiveLimit). Gives the collector's entries back.
   */
  install(snapshot: SnapshotCollector, nowMs: number): void {
    const { registry, ledger, counters } = this.deps;
    registry.clearLedger(ledger);
    for (let i = 0; i < snapshot.stored; i++) {
      registry.allocate(
        ledger,
        snapshot.types[i],
        snapshot.ids[i],
        snapshot.addresses[i],
        snapshot.sizes[i],
        nowMs,
        snapshot.contexts[i],
      );
    }
    if (snapshot.unstored > 0) registry.refuseUnstored(ledger, snapshot.unstored);
    snapshot.release();
    registry.settleLedger(ledger);
    counters.snapshotsApplied++;
    counters.clientDropped += this.snapshotUnreceived;
    this.snapshotUnreceived = 0;
  }

  /** A chunk or END from a connection with no snapshot in progress (and not one being ignored). */
  invalidPart(source: number, detail: string): void {
    this.deps.anomalies.record(
      "SNAPSHOT_INVALID",
      this.deps.ledger.account,
      this.deviceId,
      `${detail} (connection ${source})`,
    );
  }
}
