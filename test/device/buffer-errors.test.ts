// Every error path of DeviceBuffer throws a typed error with a stable code and a message that says what to do,
// and leaves nothing allocated or reported behind.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AllocationChange } from "../../src/device/change.js";
import { Device } from "../../src/device/device.js";
import { BufferStatus, DeviceBuffer } from "../../src/device/device-buffer.js";
import { GraphTracker } from "../../src/device/graph-tracker.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { TINY } from "../../src/device/presets.js";

function setup() {
  const device = Device.create(TINY, { id: 5 });
  const tracker = new GraphTracker();
  const changes: AllocationChange[] = [];
  tracker.addProcessor({ process: (c) => void changes.push(c) });
  return { device, tracker, changes };
}

test("invalid size: negative or fractional sizes are refused before the allocator is asked", () => {
  const { device, tracker, changes } = setup();
  for (const sizeBytes of [-64, 1.5, Number.NaN]) {
    assert.throws(
      () => DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes }, { tracker }),
      {
        code: "DEVICE_INVALID_SIZE",
        message: `Invalid allocation size ${sizeBytes}: it must be a positive integer number of bytes below 2^53`,
      },
    );
  }
  assert.equal(device.allocator.lastSeq, 0);
  assert.deepEqual(changes, []);
});

test("invalid page size: a page size that does not divide the size is refused", () => {
  const { device, tracker } = setup();
  assert.throws(
    () =>
      DeviceBuffer.create(
        device,
        { memoryType: MemoryType.DRAM, sizeBytes: 1000, pageSizeBytes: 300 },
        { tracker },
      ),
    {
      code: "DEVICE_INVALID_PAGE_SIZE",
      message:
        "Invalid page size 300 for 1000 B: the page size must be a positive integer that divides the size",
    },
  );
  assert.equal(device.allocator.lastSeq, 0);
});

test("invalid memory type is refused", () => {
  const { device, tracker } = setup();
  assert.throws(
    () => DeviceBuffer.create(device, { memoryType: 9 as MemoryType, sizeBytes: 64 }, { tracker }),
    {
      code: "DEVICE_INVALID_MEMORY_TYPE",
      message: "Invalid memory type 9: expected one of MemoryType's values (0..6)",
    },
  );
});

test("wrong sub-device manager: allocate and deallocate refuse once another manager is active", () => {
  const { device, tracker, changes } = setup();
  device.loadSubDeviceManager(1);
  const buffer = DeviceBuffer.create(
    device,
    { memoryType: MemoryType.L1, sizeBytes: 64, subDeviceId: 0 },
    { tracker },
  );
  assert.equal(buffer.subDeviceManagerId, 1);
  device.loadSubDeviceManager(2);
  assert.throws(() => buffer.deallocate(), {
    code: "DEVICE_SUB_DEVICE_MANAGER_MISMATCH",
    message:
      "Cannot deallocate the buffer: sub-device manager mismatch on device 5 (buffer's manager 1, active " +
      "manager 2); load manager 1 again or create the buffer under the active one",
  });
  assert.equal(buffer.status, BufferStatus.ALLOCATED, "nothing changed");
  assert.equal(changes.length, 1);

  const adopted = DeviceBuffer.adopt(device, { ...buffer.transfer(), subDeviceManagerId: 3 }, { tracker });
  assert.throws(() => adopted.deallocate(), { code: "DEVICE_SUB_DEVICE_MANAGER_MISMATCH" });

  device.loadSubDeviceManager(1);
  buffer.deallocate();
  DeviceBuffer.adopt(device, { ...adopted.transfer(), subDeviceManagerId: 1 }, { tracker }).deallocate();
  assert.equal(changes.length, 2);
  assert.equal(device.allocator.snapshot().allocations.length, 0);
});

test("allocate on a closed device throws DeviceClosedError and takes no number", () => {
  const { device, tracker, changes } = setup();
  device.close();
  assert.throws(
    () => DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 64 }, { tracker }),
    {
      code: "DEVICE_CLOSED",
      message: "Cannot allocate a buffer: device 5 is closed",
    },
  );
  assert.deepEqual(changes, []);
});

test("free on a closed device: DeviceBuffer.deallocate is a state change only; the allocator itself refuses", () => {
  const { device, tracker, changes } = setup();
  const buffer = DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 64 }, { tracker });
  device.close();
  buffer.deallocate();
  assert.equal(buffer.status, BufferStatus.DEALLOCATED);
  assert.equal(changes.length, 1, "no FREE: closing the device released its memory in bulk");
  assert.throws(() => device.allocator.deallocate(MemoryType.DRAM, buffer.address), {
    code: "DEVICE_CLOSED",
    message: "Cannot deallocate: device 5 is closed",
  });
});

test("out of memory propagates the allocator's error; nothing is reported and the buffer never exists", () => {
  const { device, tracker, changes } = setup();
  assert.throws(
    () =>
      DeviceBuffer.create(
        device,
        { memoryType: MemoryType.DRAM, sizeBytes: 1 << 20, pageSizeBytes: 1024 },
        { tracker },
      ),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, "DEVICE_OUT_OF_MEMORY");
      assert.match(err.message, /^Out of memory: cannot allocate 1048576 B of DRAM over 2 bank\(s\)/);
      return true;
    },
  );
  assert.deepEqual(changes, []);
  assert.equal(device.allocator.lastSeq, 0);
});

test("address of a buffer whose allocation is only requested is an error (visible to a capture hook)", () => {
  const { device, tracker } = setup();
  let seen: unknown;
  tracker.pushHook({
    hookAllocate(buffer) {
      try {
        void (buffer as DeviceBuffer).address;
      } catch (err) {
        seen = err;
      }
      return false;
    },
    hookDeallocate: () => false,
  });
  DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 64 }, { tracker });
  assert.ok(seen instanceof Error);
  assert.equal((seen as { code?: string }).code, "DEVICE_BUFFER_NOT_ALLOCATED");
  assert.equal(
    (seen as Error).message,
    "Cannot query the address of a buffer on device 5 that is not allocated (or not owned)",
  );
});

test("transferring a buffer that is not allocated or not owned is an error", () => {
  const { device, tracker } = setup();
  const buffer = DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes: 64 }, { tracker });
  buffer.transfer();
  assert.throws(() => buffer.transfer(), {
    code: "DEVICE_BUFFER_NOT_ALLOCATED",
    message: "Cannot transfer a buffer on device 5 that is not allocated (or not owned)",
  });
});

test("an invalid sub-device manager id is refused with the value in the message", () => {
  const { device } = setup();
  assert.throws(() => device.loadSubDeviceManager(-1), {
    code: "DEVICE_INVALID_OPTIONS",
    message: /sub-device manager id must be a non-negative integer, got -1/,
  });
  assert.equal(device.activeSubDeviceManagerId, 0, "the active manager did not change");
});
