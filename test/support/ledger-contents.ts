import type { Ledger, Registry } from "../../src/server/registry.js";
import { NO_SLOT } from "../../src/server/slot-index.js";

/** Every live allocation of a ledger, for snapshot comparisons in tests (walks that ledger only). */
export function ledgerContents(
  registry: Registry,
  ledger: Ledger,
): { allocationId: number; memoryType: number; address: number; sizeBytes: number }[] {
  const out = [];
  const byId = ledger.byId;
  for (let bucket = 0; bucket < byId.bucketCount; bucket++) {
    const slot = byId.slotAt(bucket);
    if (slot === NO_SLOT) continue;
    out.push({
      allocationId: registry.allocationIdAt(slot),
      memoryType: registry.memoryTypeAt(slot),
      address: registry.addressAt(slot),
      sizeBytes: registry.sizeBytesAt(slot),
    });
  }
  return out;
}
