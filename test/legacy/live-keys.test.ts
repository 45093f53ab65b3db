// LegacyLiveKeys (the legacy apply path's key table) against a Map model: any sequence of inserts,
// reference changes and deletes over several key spaces and devices, with entries reused after deletes.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { LegacyLiveKeys } from "../../src/server/legacy/live-keys.js";
import { NO_SLOT } from "../../src/server/slot-index.js";

interface Model {
  allocationId: number;
  sizeBytes: number;
  memoryType: number;
  refCount: number;
}

const op = fc.record({
  space: fc.integer({ min: 0, max: 2 }),
  deviceId: fc.integer({ min: 0, max: 3 }),
  // Few distinct ids so that keys are reused; one near 2^53 (a device address can be large).
  bufferId: fc.oneof(
    fc.integer({ min: 0, max: 40 }).map((i) => 0x1000 * i),
    fc.constant(2 ** 53 - 1),
  ),
  alloc: fc.boolean(),
  sizeBytes: fc.integer({ min: 1, max: 1 << 20 }),
  memoryType: fc.integer({ min: 0, max: 6 }),
});

test("LegacyLiveKeys keeps exactly what a Map of key objects keeps (allocate raises, free drops refs)", () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const keys = new LegacyLiveKeys();
      const model = new Map<string, Model>();
      let nextId = 1;
      for (const o of ops) {
        const name = `${o.space}:${o.deviceId}:${o.bufferId}`;
        const known = model.get(name);
        const entry = keys.entryOf(o.space, o.deviceId, o.bufferId);
        assert.equal(entry === NO_SLOT, known === undefined);
        if (o.alloc) {
          if (known === undefined) {
            const m = {
              allocationId: nextId++,
              sizeBytes: o.sizeBytes,
              memoryType: o.memoryType,
              refCount: 1,
            };
            model.set(name, m);
            keys.insert(o.space, o.deviceId, o.bufferId, m.allocationId, m.sizeBytes, m.memoryType);
          } else {
            assert.equal(keys.addReference(entry), ++known.refCount);
          }
        } else if (known !== undefined) {
          const left = keys.dropReference(entry);
          assert.equal(left, --known.refCount);
          if (left === 0) {
            keys.delete(o.space, o.deviceId, o.bufferId, entry);
            model.delete(name);
          }
        }
      }
      assert.equal(keys.size, model.size);
      for (const [name, m] of model) {
        const [space, deviceId, bufferId] = name.split(":").map(Number) as [number, number, number];
        const entry = keys.entryOf(space, deviceId, bufferId);
        assert.notEqual(entry, NO_SLOT);
        assert.deepEqual(
          {
            allocationId: keys.allocationIdAt(entry),
            sizeBytes: keys.sizeBytesAt(entry),
            memoryType: keys.memoryTypeAt(entry),
            refCount: keys.refCountAt(entry),
          },
          m,
        );
      }
      keys.clear();
      assert.equal(keys.size, 0);
      assert.equal(keys.entryOf(0, 0, 0), NO_SLOT);
    }),
    { numRuns: 300 },
  );
});

test("LegacyLiveKeys reuses freed entries: a pair churn never grows it past the live count", () => {
  const keys = new LegacyLiveKeys();
  for (let i = 0; i < 100_000; i++) {
    keys.insert(0, 0, 0x1000 * (i % 8), i + 1, 4096, 0);
    if (i >= 4) {
      const old = 0x1000 * ((i - 4) % 8);
      keys.delete(0, 0, old, keys.entryOf(0, 0, old));
    }
  }
  assert.equal(keys.size, 4);
  // Entries handed out stay below the initial columns (16): deletes are reused.
  for (let k = 0; k < 8; k++) {
    const entry = keys.entryOf(0, 0, 0x1000 * k);
    if (entry !== NO_SLOT) assert.ok(entry < 16, `entry ${entry}`);
  }
});

test("insertIfAbsent and release (the one-probe ALLOC and FREE) keep what the Map model keeps", () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const keys = new LegacyLiveKeys();
      const model = new Map<string, Model>();
      let nextId = 1;
      for (const o of ops) {
        const name = `${o.space}:${o.deviceId}:${o.bufferId}`;
        const known = model.get(name);
        if (o.alloc) {
          const entry = keys.insertIfAbsent(
            o.space,
            o.deviceId,
            o.bufferId,
            nextId,
            o.sizeBytes,
            o.memoryType,
          );
          if (known === undefined) {
            assert.equal(entry, NO_SLOT);
            model.set(name, {
              allocationId: nextId++,
              sizeBytes: o.sizeBytes,
              memoryType: o.memoryType,
              refCount: 1,
            });
          } else {
            // Live already: nothing changed, and the entry is the key's.
            assert.equal(keys.allocationIdAt(entry), known.allocationId);
            assert.equal(keys.addReference(entry), ++known.refCount);
          }
        } else {
          const entry = keys.release(o.space, o.deviceId, o.bufferId);
          if (known === undefined) {
            assert.equal(entry, NO_SLOT);
            continue;
          }
          assert.equal(keys.refCountAt(entry), --known.refCount);
          // The released key's fields stay readable until the next insert.
          assert.equal(keys.allocationIdAt(entry), known.allocationId);
          assert.equal(keys.memoryTypeAt(entry), known.memoryType);
          if (known.refCount === 0) model.delete(name);
        }
        assert.equal(keys.size, model.size);
      }
      for (const [name, m] of model) {
        const [space, deviceId, bufferId] = name.split(":").map(Number) as [number, number, number];
        const entry = keys.entryOf(space, deviceId, bufferId);
        assert.notEqual(entry, NO_SLOT);
        assert.equal(keys.allocationIdAt(entry), m.allocationId);
        assert.equal(keys.refCountAt(entry), m.refCount);
      }
    }),
    { numRuns: 300 },
  );
});
