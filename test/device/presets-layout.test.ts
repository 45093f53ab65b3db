import assert from "node:assert/strict";
import { test } from "node:test";
import { memoryLayout } from "../../src/device/layout.js";
import { MemoryType } from "../../src/device/memory-type.js";
import {
  BLACKHOLE_P150,
  DEVICE_PRESETS,
  type TINY,
  WORMHOLE_B0_N150,
  WORMHOLE_B0_N300,
} from "../../src/device/presets.js";

const KiB = 1024;
const MiB = 1024 * KiB;

function region(preset: typeof TINY, memoryType: MemoryType) {
  const layout = memoryLayout(preset);
  return layout.regions[layout.regionOfType[memoryType]!]!;
}

test("Wormhole B0 n150 carries the numbers cited from tt-metal", () => {
  const p = WORMHOLE_B0_N150;
  assert.equal(p.dram.bankCount, 12); // wormhole_b0_80_arch.yaml: 12 DRAM views
  assert.equal(p.dram.bankSizeBytes, 1073741824); // dram_bank_size
  assert.equal(p.dram.alignmentBytes, 32);
  assert.equal(p.l1.sizePerCoreBytes, 1499136); // worker_l1_size = 1464 KiB
  assert.equal(p.l1.bankCount, 64); // 8x8 harvested grid
  assert.equal(p.l1.kernelConfigBaseBytes, 91392); // MEM_MAP_END
  assert.equal(p.l1.kernelConfigSizeBytes, 69 * KiB); // L1_KERNEL_CONFIG_SIZE
  assert.equal(p.l1.alignmentBytes, 16);

  const trace = region(p, MemoryType.TRACE);
  // 32 MiB aligned up to DRAM alignment x 12 banks = 384 B, at the top of each bank.
  assert.equal(trace.sizePerBankBytes, 33554688);
  assert.equal(trace.baseAddressBytes + trace.sizePerBankBytes, 1073741824);
  const dram = region(p, MemoryType.DRAM);
  assert.equal(dram.baseAddressBytes, 32);
  assert.equal(dram.baseAddressBytes + dram.sizePerBankBytes, trace.baseAddressBytes);
  const l1 = region(p, MemoryType.L1);
  assert.equal(l1.baseAddressBytes, 162048);
  assert.equal(l1.sizePerBankBytes, 1499136 - 162048 - 32 * KiB);
  assert.equal(region(p, MemoryType.L1_SMALL).baseAddressBytes, 1499136 - 32 * KiB);
});

test("a Wormhole B0 chip of an n300 has the n150's numbers (same SoC, 8x8 grid with ethernet dispatch)", () => {
  const { name, board, ...numbers } = WORMHOLE_B0_N300;
  const { name: _n150Name, board: _n150Board, ...n150Numbers } = WORMHOLE_B0_N150;
  assert.equal(name, "wormhole_b0_n300");
  assert.equal(board, "n300");
  assert.deepEqual(numbers, n150Numbers);
  assert.equal(WORMHOLE_B0_N300.l1.bankCount, 64); // nebula_x2, ethernet dispatch: 8x8
  assert.equal(DEVICE_PRESETS["wormhole_b0_n300"], WORMHOLE_B0_N300);
  assert.deepEqual(memoryLayout(WORMHOLE_B0_N300).regions, memoryLayout(WORMHOLE_B0_N150).regions);
});

test("Blackhole p150 carries the numbers cited from tt-metal", () => {
  const p = BLACKHOLE_P150;
  assert.equal(p.dram.bankCount, 8);
  assert.equal(p.dram.bankSizeBytes, 4278190080); // dram_bank_size = MEM_DRAM_SIZE 4177920 KiB
  assert.equal(p.dram.bankSizeBytes, 4177920 * KiB);
  assert.equal(p.dram.alignmentBytes, 64);
  assert.equal(p.l1.sizePerCoreBytes, 1499136);
  assert.equal(p.l1.bankCount, 130); // 13x10 compute grid
  assert.equal(p.l1.kernelConfigBaseBytes, 30672); // MEM_MAP_END
  const l1 = region(p, MemoryType.L1);
  assert.equal(l1.baseAddressBytes, 101376); // 30672 + 69 KiB aligned up to 64
  const trace = region(p, MemoryType.TRACE);
  assert.equal(trace.sizePerBankBytes, 32 * MiB); // already a multiple of 64 x 8
  assert.equal(trace.baseAddressBytes, 4278190080 - 32 * MiB);
});

test("every preset gives every memory type a region, L1 and CB share one, the rest are disjoint", () => {
  for (const preset of Object.values(DEVICE_PRESETS)) {
    const layout = memoryLayout(preset);
    for (const memoryType of Object.values(MemoryType)) {
      const r = layout.regions[layout.regionOfType[memoryType]!];
      assert.ok(r?.memoryTypes.includes(memoryType), `${preset.name}: ${memoryType}`);
    }
    assert.equal(layout.regionOfType[MemoryType.L1], layout.regionOfType[MemoryType.CB]);
    assert.equal(layout.bottomUpByDefault[MemoryType.L1], false);
    assert.equal(layout.bottomUpByDefault[MemoryType.CB], true);
    assert.equal(layout.bottomUpByDefault[MemoryType.DRAM], true);
    assert.equal(region(preset, MemoryType.SYSTEM_MEMORY).bankCount, 1);
    // Regions in the same banks must not overlap.
    const inDram = [MemoryType.DRAM, MemoryType.TRACE].map((t) => region(preset, t));
    const inL1 = [MemoryType.KERNEL, MemoryType.L1, MemoryType.L1_SMALL].map((t) => region(preset, t));
    for (const group of [inDram, inL1]) {
      for (let i = 1; i < group.length; i++) {
        const before = group[i - 1]!;
        assert.ok(before.baseAddressBytes + before.sizePerBankBytes <= group[i]!.baseAddressBytes);
      }
    }
    assert.ok(
      region(preset, MemoryType.L1_SMALL).baseAddressBytes +
        region(preset, MemoryType.L1_SMALL).sizePerBankBytes <=
        preset.l1.sizePerCoreBytes,
    );
  }
});
