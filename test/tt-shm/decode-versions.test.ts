// Each layout version decodes byte-exactly from regions written at the documented offsets
// (test/tt-shm/region-writer.ts spells them out independently of src).
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeTtShmRegion } from "../../src/protocol/tt-shm/decode.js";
import { TT_SHM_MAX_REGION_BYTES, ttShmLayout } from "../../src/protocol/tt-shm/layout.js";
import { TT_SHM_READ_BYTES } from "../../src/server/tt-shm/region-files.js";
import { buildRegion, type LayoutVersion, type RegionSpec, regionBytes } from "./region-writer.js";

function decode(spec: RegionSpec) {
  const bytes = buildRegion(spec);
  const result = decodeTtShmRegion(bytes, bytes.length);
  assert.ok(result.ok, `decodes: ${result.ok ? "" : result.problem.message}`);
  return result.region;
}

// Distinct values per field, so that a field read from its neighbour's offset shows.
const TOTALS = {
  DRAM: 1_000_001,
  L1: 2_000_002,
  L1_SMALL: 3_000_003,
  TRACE: 4_000_004,
  CB: 5_000_005,
  KERNEL: 6_000_006,
};
const CHIP0 = { DRAM: 11, L1: 12, L1_SMALL: 13, TRACE: 14, CB: 15, KERNEL: 16 };
const CHIP15 = { DRAM: 21, L1: 22, L1_SMALL: 23, TRACE: 24, CB: 25, KERNEL: 26 };
const SLOT0 = { DRAM: 31, L1: 32, L1_SMALL: 33, TRACE: 34, CB: 35, KERNEL: 36 };
const SLOT63 = { DRAM: 41, L1: 42, L1_SMALL: 43, TRACE: 44, CB: 45, KERNEL: 46 };

function fullSpec(layout: LayoutVersion): RegionSpec {
  const chips: RegionSpec["chips"] = [{ chipId: 3, used: CHIP0 }];
  for (let i = 1; i < 15; i++) chips.push(layout === 1 ? { chipId: 0 } : { chipId: 0xffffffff });
  chips.push({ chipId: 7, remote: true, used: CHIP15 });
  return {
    layout,
    asicId: 0x0a0b_0c0d_0e0fn,
    deviceId: 3,
    lastUpdateNs: 1_700_000_000_123_456_789n,
    totals: TOTALS,
    chips,
    slots: [
      { index: 0, pid: 4242, name: "python3", used: SLOT0, lastUpdateNs: 1_700_000_000_000_000_000n },
      { index: 1, pid: 0, name: "" },
      { index: 63, pid: 99, name: "pytest-xdist-worker", used: SLOT63, lastUpdateNs: 5n },
    ],
  };
}

for (const layout of [2, 3, 4] as const) {
  test(`v${layout}: header, totals (no KERNEL), chip entries 0 and 15, slots 0 and 63 decode exactly`, () => {
    const region = decode(fullSpec(layout));
    assert.deepEqual(region, {
      version: layout,
      deviceId: 3,
      asicId: String(0x0a0b_0c0d_0e0fn),
      lastUpdateNs: Number(1_700_000_000_123_456_789n), // rounded to the nearest double
      lastUpdateClock: "system",
      totalsBytes: [1_000_001, 2_000_002, 0, 3_000_003, 4_000_004, 5_000_005, 0],
      chips: [
        { chipId: 3, remote: false, usedBytes: [11, 12, 0, 13, 14, 15, 0] },
        { chipId: 7, remote: true, usedBytes: [21, 22, 0, 23, 24, 25, 0] },
      ],
      slots: [
        {
          index: 0,
          pid: 4242,
          name: "python3",
          usedBytes: [31, 32, 0, 33, 34, 35, 0],
          lastUpdateNs: 1_700_000_000_000_000_000,
        },
        {
          index: 63,
          pid: 99,
          name: "pytest-xdist-worker",
          usedBytes: [41, 42, 0, 43, 44, 45, 0],
          lastUpdateNs: 5,
        },
      ],
    });
  });
}

test("v1: six counters (KERNEL), split asic id rejoined, steady clock, 128-byte slots decode exactly", () => {
  const region = decode(fullSpec(1));
  assert.deepEqual(region, {
    version: 1,
    deviceId: 3,
    asicId: String(0x0a0b_0c0d_0e0fn),
    lastUpdateNs: Number(1_700_000_000_123_456_789n), // rounded to the nearest double
    lastUpdateClock: "steady",
    totalsBytes: [1_000_001, 2_000_002, 0, 3_000_003, 4_000_004, 5_000_005, 6_000_006],
    chips: [
      { chipId: 3, remote: false, usedBytes: [11, 12, 0, 13, 14, 15, 16] },
      { chipId: 7, remote: true, usedBytes: [21, 22, 0, 23, 24, 25, 26] },
    ],
    slots: [
      {
        index: 0,
        pid: 4242,
        name: "python3",
        usedBytes: [31, 32, 0, 33, 34, 35, 36],
        lastUpdateNs: 1_700_000_000_000_000_000,
      },
      {
        index: 63,
        pid: 99,
        name: "pytest-xdist-worker",
        usedBytes: [41, 42, 0, 43, 44, 45, 46],
        lastUpdateNs: 5,
      },
    ],
  });
});

test("v1: a chip-0 entry with counters is chip 0; one with none is the old 'unused' marker", () => {
  const region = decode({
    layout: 1,
    chips: [{ chipId: 0, used: { DRAM: 5 } }, { chipId: 0 }, { chipId: 1, remote: true }],
  });
  assert.deepEqual(
    region.chips.map((c) => [c.chipId, c.remote, c.usedBytes[0]]),
    [
      [0, false, 5],
      [1, true, 0],
    ],
  );
});

test("v2+: chip 0 is a real chip; 0xFFFFFFFF marks unused entries", () => {
  const region = decode({ layout: 4, chips: [{ chipId: 0 }, { chipId: 0xffffffff, used: { DRAM: 9 } }] });
  assert.deepEqual(region.chips, [{ chipId: 0, remote: false, usedBytes: [0, 0, 0, 0, 0, 0, 0] }]);
});

test("asic ids above 2^53 are exact decimal strings (v4 whole, v1 split into serial and low byte)", () => {
  for (const asicId of [
    0xffff_ffff_ffff_ffffn,
    0x0020_0000_0000_0001n,
    2n ** 53n - 1n,
    0n,
    0x0123_4567_89ab_cdefn,
  ]) {
    assert.equal(decode({ layout: 4, asicId }).asicId, asicId.toString());
    assert.equal(decode({ layout: 1, asicId }).asicId, asicId.toString());
  }
});

test("slot pids: 0 (free) and -1 (being released, v2+) are left out; names stop at the first NUL", () => {
  const region = decode({
    layout: 3,
    slots: [
      { index: 0, pid: 0, name: "free" },
      { index: 1, pid: -1, name: "leaving" },
      { index: 2, pid: 7, nameBytes: new Uint8Array([0x61, 0x62, 0, 0x63]) },
      { index: 3, pid: 8, nameBytes: new TextEncoder().encode("ümlaut") },
      { index: 4, pid: 9, nameBytes: new Uint8Array([0xff, 0x41, 0]) },
    ],
  });
  assert.deepEqual(
    region.slots.map((s) => [s.index, s.pid, s.name]),
    [
      [2, 7, "ab"],
      [3, 8, "ümlaut"],
      [4, 9, "\u00ffA"], // not UTF-8: read as Latin-1
    ],
  );
});

test("the totals of the region include slots tt-metal has not reaped; counters up to 2^53-1 are exact", () => {
  const max = Number.MAX_SAFE_INTEGER;
  const region = decode({
    layout: 4,
    totals: { DRAM: max, CB: 1 },
    slots: [{ pid: 1, used: { TRACE: max } }],
  });
  assert.equal(region.totalsBytes[0], max);
  assert.equal(region.totalsBytes[5], 1);
  assert.equal(region.slots[0]!.usedBytes[4], max);
});

test("bytes past the layout's size, and past byteLength in a reused buffer, are ignored", () => {
  const region = buildRegion({ layout: 4, totals: { L1: 77 } });
  const buffer = new Uint8Array(10240).fill(0xee);
  buffer.set(region);
  const result = decodeTtShmRegion(buffer, 10240);
  assert.ok(result.ok);
  assert.equal(result.region.totalsBytes[1], 77);
  // byteLength larger than the array: clamped to the array.
  assert.ok(decodeTtShmRegion(region, 1e9).ok);
});

test("layout sizes: v1 9,280 bytes, v2-v4 8,576; the reader's 10 KiB read covers the largest", () => {
  assert.deepEqual(
    [1, 2, 3, 4].map((v) => ttShmLayout(v)?.regionBytes),
    [regionBytes(1), regionBytes(2), regionBytes(3), regionBytes(4)],
  );
  assert.equal(TT_SHM_MAX_REGION_BYTES, Math.max(regionBytes(1), regionBytes(4)));
  assert.ok(TT_SHM_READ_BYTES >= TT_SHM_MAX_REGION_BYTES);
  assert.equal(ttShmLayout(0), undefined);
  assert.equal(ttShmLayout(5), undefined);
});
