// The demo's workload drives every memory category through the runtime model, frees what it allocates,
// and leaks only when told to.
import assert from "node:assert/strict";
import { test } from "node:test";
import { InferenceWorkload } from "../../src/demo/inference.js";
import { DEMO_MODELS, modelFor } from "../../src/demo/models.js";
import type { AllocationChange } from "../../src/device/change.js";
import { Device } from "../../src/device/device.js";
import { GraphTracker } from "../../src/device/graph-tracker.js";
import { MEMORY_TYPES, MemoryType } from "../../src/device/memory-type.js";
import { WORMHOLE_B0_N150 } from "../../src/device/presets.js";

function setUp(model = modelFor(0), leak = false) {
  const device = Device.create(WORMHOLE_B0_N150, { id: 0 });
  const tracker = new GraphTracker();
  const changes: AllocationChange[] = [];
  tracker.addProcessor({ process: (c) => void changes.push(c) });
  const l1 = device.layout.regions[device.layout.regionOfType[MemoryType.L1]!]!;
  const dram = device.layout.regions[device.layout.regionOfType[MemoryType.DRAM]!]!;
  const workload = new InferenceWorkload({
    device,
    l1Banks: l1.bankCount,
    dramCapacityBytes: dram.bankCount * dram.sizePerBankBytes,
    model,
    tracker,
    leak,
  });
  return { device, changes, workload };
}

test("every model loads, runs and unloads without running out of memory, leaving nothing behind", () => {
  for (const model of DEMO_MODELS) {
    const { device, changes, workload } = setUp(model);
    workload.load();
    for (let i = 0; i < 3; i++) workload.step();
    workload.unload();
    assert.equal(workload.counters.outOfMemory, 0, model.name);
    assert.equal(device.allocator.snapshot().allocations.length, 0, model.name);
    assert.equal(workload.counters.allocations, workload.counters.frees, model.name);
    assert.equal(changes.length, workload.counters.allocations * 2, model.name);
  }
});

test("a pass touches every memory category the monitors show, and the sequence has no holes", () => {
  const { changes, workload } = setUp();
  workload.load();
  workload.step();
  const types = new Set(changes.map((c) => c.memoryType));
  assert.deepEqual([...types].sort(), [...MEMORY_TYPES].sort());
  assert.deepEqual(
    changes.map((c) => c.seq),
    changes.map((_, i) => i + 1),
  );
  // Weights stay: after a pass the live set is what load() made.
  assert.ok(changes.length > 1000, `only ${changes.length} changes in a pass`);
});

test("a leaking workload keeps one output per pass in DRAM; unload still frees them", () => {
  const { device, workload } = setUp(modelFor(1), true);
  workload.load();
  const loaded = device.allocator.snapshot().allocations.length;
  for (let i = 0; i < 5; i++) workload.step();
  assert.equal(workload.counters.leakedBuffers, 5);
  const live = device.allocator.snapshot().allocations;
  // One key/value cache per layer stays in L1 from the first pass on.
  assert.equal(live.length, loaded + 5 + modelFor(1).layers);
  assert.ok(workload.counters.leakedBytes > 5 * 1024 * 1024);
  workload.unload();
  assert.equal(device.allocator.snapshot().allocations.length, 0);
});

test("between passes L1 holds one key/value cache per layer and a hole the passes left (a map worth drawing)", () => {
  const model = modelFor(0);
  const { device, workload } = setUp(model);
  workload.load();
  for (let i = 0; i < 2; i++) workload.step();
  const l1 = device.allocator.statistics(MemoryType.L1);
  assert.equal(l1.liveBlocks, model.layers);
  assert.ok(l1.freeBlocks >= 2, `L1 has ${l1.freeBlocks} free blocks: a hole is left above the caches`);
  assert.ok(l1.largestFreeBlockBytes * l1.bankCount < l1.freeBytes, "the free bytes are not one block");
  workload.unload();
  assert.equal(device.allocator.statistics(MemoryType.L1).liveBlocks, 0);
});
