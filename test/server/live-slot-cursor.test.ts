// The cursor the queries walk: every live allocation of the ledger exactly once, freed ones never, and
// the registry's slot reads give back what was allocated.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AnomalyLog } from "../../src/server/anomaly-log.js";
import { LiveSlotCursor } from "../../src/server/live-slot-cursor.js";
import { Registry } from "../../src/server/registry.js";
import { NO_SLOT } from "../../src/server/slot-index.js";

test("walks each live allocation of its ledger once, with its fields", () => {
  const registry = new Registry(new AnomalyLog());
  const account = registry.openAccount("a".repeat(32), 42);
  const ledger = registry.ledger(account, 0);
  const other = registry.ledger(registry.openAccount("b".repeat(32), 43), 0);
  for (let id = 1; id <= 3000; id++) registry.allocate(ledger, id % 7, id, id * 64, id * 2, id / 4);
  registry.allocate(other, 0, 1, 0, 1, 0);
  for (let id = 2; id <= 3000; id += 3) registry.free(ledger, id % 7, id, id * 2);

  const seen = new Map<number, { memoryType: number; address: number; sizeBytes: number; atMs: number }>();
  const cursor = new LiveSlotCursor(registry, ledger);
  for (let slot = cursor.next(); slot !== NO_SLOT; slot = cursor.next()) {
    const id = registry.allocationIdAt(slot);
    assert.ok(!seen.has(id), `allocation ${id} walked twice`);
    seen.set(id, {
      memoryType: registry.memoryTypeAt(slot),
      address: registry.addressAt(slot),
      sizeBytes: registry.sizeBytesAt(slot),
      atMs: registry.allocatedAtMsAt(slot),
    });
  }
  assert.equal(cursor.next(), NO_SLOT, "a finished cursor stays finished");
  assert.equal(seen.size, ledger.liveAllocations);
  for (let id = 1; id <= 3000; id++) {
    if (id % 3 === 2) assert.ok(!seen.has(id), `freed allocation ${id} walked`);
    else
      assert.deepEqual(seen.get(id), {
        memoryType: id % 7,
        address: id * 64,
        sizeBytes: id * 2,
        atMs: Math.floor(id / 4),
      });
  }
});

test("an empty ledger yields nothing", () => {
  const registry = new Registry(new AnomalyLog());
  const ledger = registry.ledger(registry.openAccount("c".repeat(32), 1), 3);
  assert.equal(new LiveSlotCursor(registry, ledger).next(), NO_SLOT);
});
