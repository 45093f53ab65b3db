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
  assert.equal(live.length, loaded + 5);
  assert.ok(workload.counters.leakedBytes > 5 * 1024 * 1024);
  workload.unload();
  assert.equal(device.allocator.snapshot().allocations.length, 0);
});
