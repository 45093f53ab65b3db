// Capture mode: a hooked allocation gets address 0, no memory and no sequence number, and is not reported.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AllocationChange } from "../../src/device/change.js";
import { Device } from "../../src/device/device.js";
import { BufferStatus, DeviceBuffer } from "../../src/device/device-buffer.js";
import { type GraphHooks, GraphTracker, type HookedBuffer } from "../../src/device/graph-tracker.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { TINY } from "../../src/device/presets.js";

class CaptureHook implements GraphHooks {
  allocations: HookedBuffer[] = [];
  deallocations: HookedBuffer[] = [];
  constructor(private readonly claim = true) {}
  hookAllocate(buffer: HookedBuffer): boolean {
    this.allocations.push(buffer);
    return this.claim;
  }
  hookDeallocate(buffer: HookedBuffer): boolean {
    this.deallocations.push(buffer);
    return this.claim;
  }
}

function setup() {
  const device = Device.create(TINY, { id: 1 });
  const tracker = new GraphTracker();
  const changes: AllocationChange[] = [];
  tracker.addProcessor({ process: (c) => void changes.push(c) });
  return { device, tracker, changes };
}

test("a captured allocation has address 0, no memory, no sequence number, and nobody hears of it", () => {
  const { device, tracker, changes } = setup();
  const hook = new CaptureHook();
  tracker.pushHook(hook);
  const buffer = DeviceBuffer.create(device, { memoryType: MemoryType.L1, sizeBytes: 1024 }, { tracker });
  assert.equal(buffer.status, BufferStatus.ALLOCATED);
  assert.equal(buffer.hooked, true);
  assert.equal(buffer.address, 0);
  assert.equal(buffer.allocationId, undefined);
  assert.equal(device.allocator.lastSeq, 0, "no sequence number taken");
  assert.deepEqual(device.allocator.snapshot().allocations, [], "no memory");
  assert.deepEqual(hook.allocations, [buffer]);

  buffer.deallocate();
  assert.equal(buffer.status, BufferStatus.DEALLOCATED);
  assert.deepEqual(hook.deallocations, [buffer]);
  assert.equal(device.allocator.lastSeq, 0);
  assert.deepEqual(changes, []);
});

test("a captured buffer freed after the hook is gone still releases nothing", () => {
  const { device, tracker, changes } = setup();
  tracker.pushHook(new CaptureHook());
  const buffer = DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 64 }, { tracker });
  tracker.popHook();
  buffer.deallocate();
  assert.equal(buffer.status, BufferStatus.DEALLOCATED);
  assert.equal(device.allocator.lastSeq, 0);
  assert.deepEqual(changes, []);
});

test("the hook stack: only the top hook is consulted; popping restores the one below", () => {
  const { device, tracker, changes } = setup();
  const capture = new CaptureHook(true);
  const observe = new CaptureHook(false);
  tracker.pushHook(capture);
  tracker.pushHook(observe);
  const real = DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 64 }, { tracker });
  assert.equal(real.hooked, false);
  assert.equal(observe.allocations.length, 1);
  assert.equal(capture.allocations.length, 0);
  assert.equal(tracker.popHook(), observe);
  const captured = DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 64 }, { tracker });
  assert.equal(captured.hooked, true);
  assert.equal(changes.length, 1, "only the real allocation is reported");
  assert.equal(tracker.popHook(), capture);
  assert.equal(tracker.popHook(), undefined);
});

test("a hook that claims the deallocation of a real buffer is refused before anything changes", () => {
  const { device, tracker, changes } = setup();
  const buffer = DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 64 }, { tracker });
  tracker.pushHook(new CaptureHook(true));
  assert.throws(() => buffer.deallocate(), {
    code: "DEVICE_HOOKED_DEALLOCATION",
    message:
      "A graph hook claimed the deallocation of a buffer on device 1 whose allocation no hook captured: " +
      "honouring it would leak the buffer's memory; the hook must only claim buffers it captured",
  });
  assert.equal(buffer.status, BufferStatus.ALLOCATED);
  tracker.popHook();
  buffer.deallocate();
  assert.equal(changes.length, 2);
  assert.deepEqual(device.allocator.snapshot().allocations, []);
});
