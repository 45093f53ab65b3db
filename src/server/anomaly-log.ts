import type { AnomalyKind } from "./anomaly-kind.js";

/** Default number of recent anomalies kept. */
export const DEFAULT_RECENT_ANOMALIES = 256;

/** Who an anomaly concerns; a connection without a session yet passes NO_SESSION. */
export interface AnomalySubject {
  readonly sessionId: string;
  readonly pid: number;
}
export const NO_SESSION: AnomalySubject = { sessionId: "", pid: 0 };

/** One recorded anomaly (the HTTP API lists them as they are). */
export interface AnomalyRecord {
  kind: AnomalyKind;
  /** Session involved, or "" when none (e.g. a connection that failed before HELLO). */
  sessionId: string;
  /** pid of that session, 0 when none. */
  pid: number;
  /** Device involved, or null when none. */
  deviceId: number | null;
  detail: string;
  /** Wall-clock time, ms since the Unix epoch. */
  timeMs: number;
}

/**
 * Counts anomalies by kind and keeps the most recent ones in a ring of fixed size, so that a client
 * flooding bad events costs a bounded amount of memory. Anomalies are rare by definition, so one object
 * per recorded anomaly is fine here (unlike the registry's per-allocation state).
 */
export class AnomalyLog {
  private readonly counts = new Map<AnomalyKind, number>();
  private readonly ring: (AnomalyRecord | undefined)[];
  private next = 0;
  private totalCount = 0;
  private readonly listeners: ((record: AnomalyRecord) => void)[] = [];

  constructor(
    readonly capacity: number = DEFAULT_RECENT_ANOMALIES,
    private readonly wallClockMs: () => number = Date.now,
  ) {
    this.ring = new Array(capacity);
  }

  get total(): number {
    return this.totalCount;
  }

  count(kind: AnomalyKind): number {
    return this.counts.get(kind) ?? 0;
  }

  /** Calls `listener` for every anomaly recorded from now on (logging). */
  onRecord(listener: (record: AnomalyRecord) => void): void {
    this.listeners.push(listener);
  }

  record(kind: AnomalyKind, subject: AnomalySubject, deviceId: number | null, detail: string): void {
    this.addCounts(kind, 1);
    this.relay({
      kind,
      sessionId: subject.sessionId,
      pid: subject.pid,
      deviceId,
      detail,
      timeMs: this.wallClockMs(),
    });
  }

  /**
   * A record another log counted (an ingest shard's): listed and passed to the listeners, not counted
   * here; its shard's counts arrive through `addCounts`.
   */
  relay(record: AnomalyRecord): void {
    if (this.capacity > 0) {
      this.ring[this.next] = record;
      this.next = (this.next + 1) % this.capacity;
    }
    for (const listener of this.listeners) listener(record);
  }

  /** Adds `n` to the count of `kind` (a shard's anomalies since its previous update). */
  addCounts(kind: AnomalyKind, n: number): void {
    if (n === 0) return;
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
    this.totalCount += n;
  }

  byKind(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [kind, n] of this.counts) out[kind] = n;
    return out;
  }

  /** The kept records, most recent first. */
  recent(): AnomalyRecord[] {
    const recent: AnomalyRecord[] = [];
    for (let i = 1; i <= this.capacity; i++) {
      const record = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (record === undefined) break;
      recent.push(record);
    }
    return recent;
  }
}
