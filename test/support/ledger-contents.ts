import { LiveSlotCursor } from "../../src/server/live-slot-cursor.js";
import type { Ledger, Registry } from "../../src/server/registry.js";
import { NO_SLOT } from "../../src/server/slot-index.js";

/** Every live allocation of a ledger, for snapshot comparisons in tests (walks that ledger only). */
export function ledgerContents(
  registry: Registry,
  ledger: Ledger,
): { allocationId: number; memoryType: number; address: number; sizeBytes: number }[] {
  const out = [];
  const cursor = new LiveSlotCursor(registry, ledger);
  for (let slot = cursor.next(); slot !== NO_SLOT; slot = cursor.next()) {
    out.push({
      allocationId: registry.allocationIdAt(slot),
      memoryType: registry.memoryTypeAt(slot),
      address: registry.addressAt(slot),
      sizeBytes: registry.sizeBytesAt(slot),
    });
  }
  return out;
}
