/**
 * What a holder of budgeted bytes (a connection) lets the budget do when memory runs short.
 */
export interface BudgetHolder {
  /**
   * Frees what can go without harm (an idle frame decoder's assembly buffer); returns the bytes it
   * still holds. Must not free anything while its own frames are being decoded.
   */
  reclaim(): number;
  /**
   * Ends the holder: the budget was full and it held more than its share (`shareBytes`). Its bytes no
   * longer count when this is called.
   */
  evict(heldBytes: number, shareBytes: number): void;
}

/** One holder's charge. Only ByteBudget changes it. */
export class BudgetAccount {
  /** Bytes charged now. */
  bytes = 0;
  /** Closed accounts are charged nothing and never granted again. */
  closed = false;
  constructor(readonly holder: BudgetHolder) {}
}

/**
 * One byte budget shared by all native connections for what the server buffers on their behalf: frames
 * not yet complete (the decoder's assembly buffer) and replies the client has not read yet. A client
 * sets how much of both it makes the server hold, so without a budget a few hundred connections each
 * holding a nearly complete 1 MiB frame hold hundreds of MB.
 *
 * The rule, checked only when a charge grows past the limit (never while the budget has room):
 * 1. idle memory is reclaimed first (`BudgetHolder.reclaim`, which hurts no one);
 * 2. then every holder may keep its fair share, limitBytes / holders. The one growing is refused and
 *    evicted if its new charge exceeds the share; otherwise the largest holders above the share are
 *    evicted until its growth fits. Room is always found that way: if no one else were above the share,
 *    all charges together would be at most holders × share <= limitBytes.
 * So the charges together never exceed limitBytes, a client whose frames fit its share is never closed,
 * and one that streams 1 MiB frames is only at risk once more than limitBytes / 1 MiB connections
 * hold bytes at the same moment. Holders report after the fact (a chunk is decoded, then charged), so
 * real memory may pass the limit by one buffer growth (at most one frame) until that charge is refused.
 */
export class ByteBudget {
  private used = 0;
  private peak = 0;
  /** Accounts charged more than 0 bytes. */
  private readonly holding = new Set<BudgetAccount>();

  constructor(readonly limitBytes: number) {}

  /** Bytes charged to all accounts now. */
  get usedBytes(): number {
    return this.used;
  }

  /** Highest `usedBytes` ever (for tests and metrics). */
  get peakBytes(): number {
    return this.peak;
  }

  /** Accounts holding bytes now. */
  get holders(): number {
    return this.holding.size;
  }

  open(holder: BudgetHolder): BudgetAccount {
    return new BudgetAccount(holder);
  }

  /**
   * Sets the account's charge to `bytes`. True when granted. False when the budget is full and `bytes`
   * is more than the account's share: the account is then closed and its holder evicted, before this
   * returns. May evict other holders to make room.
   */
  charge(account: BudgetAccount, bytes: number): boolean {
    if (account.closed) return false;
    const growth = bytes - account.bytes;
    if (growth > 0 && this.used + growth > this.limitBytes) {
      this.reclaimExcept(account);
      if (this.used + growth > this.limitBytes) {
        const share = Math.floor(this.limitBytes / (this.holding.size + (account.bytes === 0 ? 1 : 0)));
        if (bytes > share || !this.evictAbove(share, account, growth)) {
          this.evict(account, bytes, share);
          return false;
        }
      }
    }
    this.set(account, bytes);
    return true;
  }

  /** The holder is gone (or going): its bytes no longer count, now or later. Idempotent. */
  close(account: BudgetAccount): void {
    this.set(account, 0);
    account.closed = true;
  }

  private reclaimExcept(account: BudgetAccount): void {
    for (const other of this.holding) {
      if (other === account) continue;
      const left = other.holder.reclaim();
      if (left < other.bytes) this.set(other, left);
    }
  }

  /** Evicts the largest holders above `share` until `growth` fits; false if it cannot (see the class comment). */
  private evictAbove(share: number, account: BudgetAccount, growth: number): boolean {
    while (this.used + growth > this.limitBytes) {
      let largest: BudgetAccount | undefined;
      for (const other of this.holding) {
        if (
          other !== account &&
          other.bytes > share &&
          (largest === undefined || other.bytes > largest.bytes)
        )
          largest = other;
      }
      if (largest === undefined) return false;
      this.evict(largest, largest.bytes, share);
    }
    return true;
  }

  private evict(account: BudgetAccount, heldBytes: number, share: number): void {
    this.close(account);
    account.holder.evict(heldBytes, share);
  }

  private set(account: BudgetAccount, bytes: number): void {
    this.used += bytes - account.bytes;
    account.bytes = bytes;
    if (bytes > 0) this.holding.add(account);
    else this.holding.delete(account);
    if (this.used > this.peak) this.peak = this.used;
  }
}
