import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Device } from "../../src/device/device.js";
import { OutOfMemoryError } from "../../src/device/errors.js";
import { bankBytes } from "../../src/device/layout.js";
import { MEMORY_TYPES, type MemoryType } from "../../src/device/memory-type.js";
import { WORMHOLE_B0_N150 } from "../../src/device/presets.js";

// The allocator computes a request's per-bank size with the aligned page size remembered per memory
// type (allocator.ts bankBytesOf); layout.ts bankBytes is the rule. Requests switch types, page sizes
// (aligned or not, below and above the minimum allocation) and interleaving, so the remembered page
// size is both hit and missed.
test("every allocation reserves exactly bankBytes per bank, whatever the request before it", () => {
  const device = Device.create(WORMHOLE_B0_N150, { id: 0 });
  const { allocator, layout } = device;
  const requestArb = fc.record({
    memoryType: fc.constantFrom(...MEMORY_TYPES),
    pages: fc.integer({ min: 1, max: 300 }),
    pageSizeBytes: fc.oneof(
      fc.constantFrom(1, 16, 32, 100, 1024, 2048, 4096),
      fc.integer({ min: 1, max: 5000 }),
    ),
    interleaved: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(requestArb, { minLength: 1, maxLength: 40 }), (requests) => {
      for (const r of requests) {
        const memoryType = r.memoryType as MemoryType;
        const region = layout.regions[layout.regionOfType[memoryType]!]!;
        const sizeBytes = r.pages * r.pageSizeBytes;
        const bankCount = r.interleaved ? region.bankCount : 1;
        const expected = bankBytes(region, sizeBytes, r.pageSizeBytes, bankCount);
        let allocation: ReturnType<typeof allocator.allocate>;
        try {
          allocation = allocator.allocate({
            memoryType,
            sizeBytes,
            pageSizeBytes: r.pageSizeBytes,
            interleaved: r.interleaved,
          });
        } catch (error) {
          // A small region (kernel config, L1_SMALL) may not hold it: the error names the same size.
          assert.ok(error instanceof OutOfMemoryError);
          assert.equal(error.details.sizePerBankBytes, expected);
          continue;
        }
        assert.equal(allocation.sizePerBankBytes, expected);
        assert.equal(allocation.bankCount, bankCount);
        allocator.deallocate(memoryType, allocation.address);
      }
    }),
    { numRuns: 200 },
  );
  device.close();
});
