/**
 * Best fit's tie-break observed from outside (docs/DESIGN.md, FitPolicy.BEST_FIT): among free blocks of
 * the smallest fitting size, the one that took its size most recently (freed, merged or split).
 * A test calls observe() after every change with the free blocks of a region; a block is known by its
 * address and size, and gets a new stamp when no free block had that address and size at the previous
 * observation (one allocation or free changes at most one free block's address or size).
 */
export class Recency {
  private stamps = new Map<string, number>();
  private clock = 0;

  /** Records the free blocks of `region` (address and size each) after a change. */
  observe(region: number, blocks: Iterable<{ address: number; sizeBytes: number }>): void {
    const next = new Map<string, number>();
    for (const [key, stamp] of this.stamps) if (!key.startsWith(`${region}:`)) next.set(key, stamp);
    for (const b of blocks) {
      const key = `${region}:${b.address}:${b.sizeBytes}`;
      next.set(key, this.stamps.get(key) ?? ++this.clock);
    }
    this.stamps = next;
  }

  /** The stamp of the free block of `region` at `address` of `sizeBytes` (it was observed). */
  stampOf(region: number, address: number, sizeBytes: number): number {
    const stamp = this.stamps.get(`${region}:${address}:${sizeBytes}`);
    if (stamp === undefined)
      throw new Error(`free block ${address}+${sizeBytes} of region ${region} not observed`);
    return stamp;
  }
}
