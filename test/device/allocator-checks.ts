/**
 * Whole-state checks of an allocator, shared by the property and worker-thread tests:
 * blocks tile each region exactly (no overlap, free + allocated = total), no two free blocks are adjacent,
 * and the statistics agree with the block-by-block view.
 */
import assert from "node:assert/strict";
import type { Allocator } from "../../src/device/allocator/allocator.js";
import type { MemoryType } from "../../src/device/memory-type.js";

export function checkAllocatorState(allocator: Allocator): void {
  const { layout } = allocator;
  for (const region of layout.regions) {
    const blocks = allocator.blocks(region.memoryTypes[0]!);
    let expectedAddress = region.baseAddressBytes;
    let freeBytes = 0;
    let largest = 0;
    let freeBlocks = 0;
    const allocatedByType = new Map<MemoryType, { bytes: number; blocks: number; requested: number }>();
    let previousFree = false;
    for (const block of blocks) {
      assert.equal(block.address, expectedAddress, `${region.name}: blocks must tile the region`);
      assert.ok(block.sizePerBankBytes > 0, `${region.name}: empty block`);
      assert.equal(block.address % region.alignmentBytes, 0, `${region.name}: unaligned block`);
      expectedAddress += block.sizePerBankBytes;
      if (block.free) {
        assert.ok(!previousFree, `${region.name}: two adjacent free blocks at ${block.address}`);
        freeBytes += block.sizePerBankBytes;
        largest = Math.max(largest, block.sizePerBankBytes);
        freeBlocks++;
      } else {
        assert.ok(region.memoryTypes.includes(block.memoryType!), `${region.name}: foreign type`);
        assert.ok(block.sizePerBankBytes >= region.minAllocationBytes);
        const entry = allocatedByType.get(block.memoryType!) ?? { bytes: 0, blocks: 0, requested: 0 };
        entry.bytes += block.sizePerBankBytes;
        entry.blocks++;
        entry.requested += block.sizeBytes!;
        allocatedByType.set(block.memoryType!, entry);
      }
      previousFree = block.free;
    }
    assert.equal(
      expectedAddress,
      region.baseAddressBytes + region.sizePerBankBytes,
      `${region.name}: coverage`,
    );
    let allocatedTotal = 0;
    for (const memoryType of region.memoryTypes) {
      const stats = allocator.statistics(memoryType);
      const mine = allocatedByType.get(memoryType) ?? { bytes: 0, blocks: 0, requested: 0 };
      assert.equal(stats.totalBytes, region.sizePerBankBytes * region.bankCount);
      assert.equal(stats.freeBytes, freeBytes * region.bankCount, `${region.name}: freeBytes`);
      assert.equal(stats.largestFreeBlockBytes, largest, `${region.name}: largestFreeBlockBytes`);
      assert.equal(stats.freeBlocks, freeBlocks, `${region.name}: freeBlocks`);
      assert.equal(stats.allocatedBytes, mine.bytes * region.bankCount, `${region.name}: allocatedBytes`);
      assert.equal(stats.liveBlocks, mine.blocks, `${region.name}: liveBlocks`);
      assert.equal(stats.requestedBytes, mine.requested, `${region.name}: requestedBytes`);
      allocatedTotal += stats.allocatedBytes;
    }
    assert.equal(allocatedTotal + freeBytes * region.bankCount, region.sizePerBankBytes * region.bankCount);
  }
}
