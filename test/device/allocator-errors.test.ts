import assert from "node:assert/strict";
import { test } from "node:test";
import { Device, type SharedDeviceHandle } from "../../src/device/device.js";
import {
  BlockTableFullError,
  DeviceClosedError,
  DeviceError,
  InvalidDeviceOptionsError,
  InvalidMemoryTypeError,
  InvalidPageSizeError,
  InvalidPresetError,
  InvalidSharedHandleError,
  InvalidSizeError,
  OutOfMemoryError,
  UnknownAllocationError,
} from "../../src/device/errors.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { TINY } from "../../src/device/presets.js";

function tiny(): Device {
  return Device.create(TINY, { id: 3 });
}

/** Asserts that `fn` throws an instance of `type` with `code` and a message matching `message`. */
function throwsDeviceError(
  fn: () => unknown,
  type: new (...args: never[]) => DeviceError,
  code: string,
  message: RegExp,
) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    assert.ok(error instanceof DeviceError);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

test("out of memory says what each bank needed and the largest free block, and takes no seq", () => {
  const device = tiny();
  const { allocator } = device;
  // TINY DRAM: 2 banks, region of 65536 - 32 - 8192 = 57312 B per bank.
  const big = allocator.allocate({ memoryType: MemoryType.DRAM, sizeBytes: 2 * 40000, pageSizeBytes: 40000 });
  assert.equal(big.sizePerBankBytes, 40000);
  const seqBefore = allocator.lastSeq;
  throwsDeviceError(
    () => allocator.allocate({ memoryType: MemoryType.DRAM, sizeBytes: 4 * 10240, pageSizeBytes: 10240 }),
    OutOfMemoryError,
    "DEVICE_OUT_OF_MEMORY",
    /cannot allocate 40960 B of DRAM over 2 bank\(s\): each bank needs 20480 B, but the largest free block is 17312 B \(17312 B free per bank in total\)/,
  );
  assert.equal(allocator.lastSeq, seqBefore);
  try {
    allocator.allocate({
      memoryType: MemoryType.DRAM,
      sizeBytes: 20480,
      pageSizeBytes: 20480,
      interleaved: false,
    });
    assert.fail("expected out of memory");
  } catch (error) {
    assert.ok(error instanceof OutOfMemoryError);
    assert.deepEqual(error.details, {
      memoryType: MemoryType.DRAM,
      requestedBytes: 20480,
      sizePerBankBytes: 20480,
      bankCount: 1,
      largestFreeBlockBytes: 17312,
      freeBytesPerBank: 17312,
    });
  }
});

test("an empty region (L1_SMALL of size 0) is out of memory, not a crash", () => {
  const device = Device.create({ ...TINY, l1: { ...TINY.l1, smallRegionSizeBytes: 0 } }, { id: 1 });
  throwsDeviceError(
    () => device.allocator.allocate({ memoryType: MemoryType.L1_SMALL, sizeBytes: 16, pageSizeBytes: 16 }),
    OutOfMemoryError,
    "DEVICE_OUT_OF_MEMORY",
    /of L1_SMALL .* largest free block is 0 B/,
  );
});

test("invalid sizes, page sizes and memory types are typed errors", () => {
  const { allocator } = tiny();
  for (const sizeBytes of [0, -64, 1.5, Number.NaN, 2 ** 53]) {
    throwsDeviceError(
      () => allocator.allocate({ memoryType: MemoryType.DRAM, sizeBytes, pageSizeBytes: 64 }),
      InvalidSizeError,
      "DEVICE_INVALID_SIZE",
      /^Invalid allocation size .*: it must be a positive integer number of bytes/,
    );
  }
  for (const pageSizeBytes of [0, -1, 48, 2.5]) {
    throwsDeviceError(
      () => allocator.allocate({ memoryType: MemoryType.DRAM, sizeBytes: 128, pageSizeBytes }),
      InvalidPageSizeError,
      "DEVICE_INVALID_PAGE_SIZE",
      new RegExp(
        `^Invalid page size ${pageSizeBytes} for 128 B: the page size must be a positive integer that divides the size`,
      ),
    );
  }
  throwsDeviceError(
    () => allocator.allocate({ memoryType: 9 as MemoryType, sizeBytes: 64, pageSizeBytes: 64 }),
    InvalidMemoryTypeError,
    "DEVICE_INVALID_MEMORY_TYPE",
    /^Invalid memory type 9/,
  );
  throwsDeviceError(
    () => allocator.deallocate(-1 as MemoryType, 0),
    InvalidMemoryTypeError,
    "DEVICE_INVALID_MEMORY_TYPE",
    /^Invalid memory type -1/,
  );
  assert.equal(allocator.lastSeq, 0, "rejected requests take no sequence number");
});

test("a full block table is a typed error that leaves the state unchanged", () => {
  const device = Device.create(TINY, { id: 4, maxBlocksPerRegion: 3 });
  const { allocator } = device;
  const request = { memoryType: MemoryType.DRAM, sizeBytes: 128, pageSizeBytes: 64 };
  allocator.allocate(request);
  allocator.allocate(request); // 2 allocated + 1 free remainder = 3 slots
  const before = allocator.blocks(MemoryType.DRAM);
  throwsDeviceError(
    () => allocator.allocate(request),
    BlockTableFullError,
    "DEVICE_BLOCK_TABLE_FULL",
    /^Block table of the DRAM region is full \(3 blocks\): create the device with a larger maxBlocksPerRegion/,
  );
  assert.deepEqual(allocator.blocks(MemoryType.DRAM), before);
  assert.equal(allocator.lastSeq, 2);
  // Taking the whole remainder needs no new slot, so it still succeeds.
  const rest = allocator.statistics(MemoryType.DRAM).largestFreeBlockBytes;
  const last = allocator.allocate({
    memoryType: MemoryType.DRAM,
    sizeBytes: rest,
    pageSizeBytes: rest,
    interleaved: false,
  });
  assert.equal(last.seq, 3);
});

test("deallocating an address that is not live (or of another type) is a typed error", () => {
  const { allocator } = tiny();
  const cb = allocator.allocate({ memoryType: MemoryType.CB, sizeBytes: 64, pageSizeBytes: 64 });
  throwsDeviceError(
    () => allocator.deallocate(MemoryType.DRAM, 4096),
    UnknownAllocationError,
    "DEVICE_UNKNOWN_ALLOCATION",
    /^No live DRAM allocation at address 4096 to deallocate$/,
  );
  // L1 and CB share a region: the address is live, but not as an L1 buffer.
  throwsDeviceError(
    () => allocator.deallocate(MemoryType.L1, cb.address),
    UnknownAllocationError,
    "DEVICE_UNKNOWN_ALLOCATION",
    new RegExp(`^No live L1 allocation at address ${cb.address} to deallocate$`),
  );
  allocator.deallocate(MemoryType.CB, cb.address);
  throwsDeviceError(
    () => allocator.deallocate(MemoryType.CB, cb.address),
    UnknownAllocationError,
    "DEVICE_UNKNOWN_ALLOCATION",
    /^No live CB allocation/,
  );
  assert.equal(allocator.lastSeq, 2);
});

test("a closed device refuses allocations and frees with a typed error", () => {
  const device = tiny();
  const a = device.allocator.allocate({ memoryType: MemoryType.DRAM, sizeBytes: 64, pageSizeBytes: 64 });
  assert.equal(device.isInitialized(), true);
  device.close();
  assert.equal(device.isInitialized(), false);
  throwsDeviceError(
    () => device.allocator.allocate({ memoryType: MemoryType.DRAM, sizeBytes: 64, pageSizeBytes: 64 }),
    DeviceClosedError,
    "DEVICE_CLOSED",
    /^Cannot allocate: device 3 is closed$/,
  );
  throwsDeviceError(
    () => device.allocator.deallocate(MemoryType.DRAM, a.address),
    DeviceClosedError,
    "DEVICE_CLOSED",
    /^Cannot deallocate: device 3 is closed$/,
  );
});

test("invalid presets, options and shared handles are typed errors that say the fix", () => {
  throwsDeviceError(
    () => Device.create({ ...TINY, dram: { ...TINY.dram, traceRegionSizeBytes: 1 << 20 } }, { id: 0 }),
    InvalidPresetError,
    "DEVICE_INVALID_PRESET",
    /^Invalid device preset "tiny": TRACE region \(1048576 B\) does not fit in a 65536 B DRAM bank/,
  );
  throwsDeviceError(
    () => Device.create({ ...TINY, l1: { ...TINY.l1, bankCount: 0 } }, { id: 0 }),
    InvalidPresetError,
    "DEVICE_INVALID_PRESET",
    /l1.bankCount must be at least 1/,
  );
  throwsDeviceError(
    () => Device.create(TINY, { id: -1 }),
    InvalidDeviceOptionsError,
    "DEVICE_INVALID_OPTIONS",
    /device id must be a non-negative integer, got -1/,
  );
  throwsDeviceError(
    () => Device.create(TINY, { id: 0, maxBlocksPerRegion: 0 }),
    InvalidDeviceOptionsError,
    "DEVICE_INVALID_OPTIONS",
    /maxBlocksPerRegion must be an integer in 1..16777216, got 0/,
  );
  throwsDeviceError(
    () => tiny().share(),
    InvalidDeviceOptionsError,
    "DEVICE_INVALID_OPTIONS",
    /device 3 is not shared: create it with \{ shared: true \}/,
  );
  throwsDeviceError(
    () => Device.attach({ kind: "something else" } as unknown as SharedDeviceHandle),
    InvalidSharedHandleError,
    "DEVICE_INVALID_HANDLE",
    /not a shared device handle: pass the value returned by Device.share\(\)/,
  );
  const handle = Device.create(TINY, { id: 5, shared: true }).share();
  throwsDeviceError(
    () => Device.attach({ ...handle, maxBlocksPerRegion: 99 }),
    InvalidSharedHandleError,
    "DEVICE_INVALID_HANDLE",
    /state buffer does not match its preset/,
  );
});
