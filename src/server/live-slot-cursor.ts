import type { Ledger } from "./registry.js";
import { NO_SLOT } from "./slot-index.js";

/**
 * Walks the live slots of one ledger, in no particular order, without building anything per
 * allocation; the registry's `…At(slot)` reads give their fields. The registry must not change during
 * the walk (queries run synchronously between events).
 */
export class LiveSlotCursor {
  private bucket = 0;

  constructor(private readonly ledger: Ledger) {}

  /** The next live slot, or NO_SLOT when the ledger has no more. */
  next(): number {
    const byId = this.ledger.byId;
    while (this.bucket < byId.bucketCount) {
      const slot = byId.slotAt(this.bucket++);
      if (slot !== NO_SLOT) return slot;
    }
    return NO_SLOT;
  }
}
