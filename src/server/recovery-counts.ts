import type { RecoveryKind } from "./recovery-kind.js";

/**
 * Server-wide counts of transport recoveries by kind (RecoveryKind). Only counts: a recovery is routine,
 * and the resync requests it causes are logged where they are sent.
 */
export class RecoveryCounts {
  private readonly counts = new Map<RecoveryKind, number>();
  private totalCount = 0;

  get total(): number {
    return this.totalCount;
  }

  count(kind: RecoveryKind): number {
    return this.counts.get(kind) ?? 0;
  }

  record(kind: RecoveryKind): void {
    this.add(kind, 1);
  }

  /** Adds `n` recoveries of `kind` (a shard's, since its previous update). */
  add(kind: RecoveryKind, n: number): void {
    if (n === 0) return;
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + n);
    this.totalCount += n;
  }

  /** Count per kind; kinds never seen are absent. */
  byKind(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [kind, n] of this.counts) out[kind] = n;
    return out;
  }
}
