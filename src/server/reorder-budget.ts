/** Default server-wide budget for the events every sequencer holds while it waits for a missing one, bytes. */
export const DEFAULT_REORDER_BUDGET_BYTES = 64 * 1024 * 1024;

/**
 * The memory all reorder buffers of the server may hold together (ServerOptions.reorderBudgetBytes). A
 * buffer reserves bytes before it grows and gives them back when it shrinks or is disposed; a growth the
 * budget cannot cover is refused, and that sequencer drops the event and asks for a snapshot instead
 * (RecoveryKind.REORDER_OVERFLOW). So many lagging or hostile sequences together cost a bounded amount.
 */
export class ReorderBudget {
  private used = 0;

  /** `limitBytes`: most bytes reserved at once (Infinity: no limit, for tests of one sequencer). */
  constructor(readonly limitBytes: number = DEFAULT_REORDER_BUDGET_BYTES) {}

  /** Bytes reserved now by every reorder buffer. */
  get usedBytes(): number {
    return this.used;
  }

  /** Reserves `bytes` (> 0) if they fit; returns false (and reserves nothing) when they do not. */
  tryReserve(bytes: number): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    return true;
  }

  /** Gives back `bytes` reserved earlier. */
  release(bytes: number): void {
    this.used -= bytes;
  }
}
