import type { Ledger, Registry } from "./registry.js";
import { NO_SLOT } from "./slot-index.js";

/**
 * Walks the live slots of one ledger, in no particular order, without building anything per
 * allocation; the registry's `…At(slot)` reads give their fields. The registry must not change during
 * the walk (queries run synchronously between events).
 */
export class LiveSlotCursor {
  private bucket = 0;
  private slot = NO_SLOT;

  constructor(
    private readonly registry: Registry,
    private readonly ledger: Ledger,
  ) {}

  /** The next live slot, or NO_SLOT when the ledger has no more. */
  next(): number {
    if (this.slot !== NO_SLOT) this.slot = this.registry.idChainNextAt(this.slot);
    const heads = this.ledger.byId.heads;
    while (this.slot === NO_SLOT && this.bucket < heads.length) this.slot = heads[this.bucket++];
    return this.slot;
  }
}
