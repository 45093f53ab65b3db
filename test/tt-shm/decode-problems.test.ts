// Every way a region can fail to decode gives its stable problem code, and only that.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeTtShmRegion } from "../../src/protocol/tt-shm/decode.js";
import { TtShmProblemCode } from "../../src/protocol/tt-shm/problems.js";
import { buildRegion, type RegionSpec } from "./region-writer.js";

function problemOf(bytes: Uint8Array, byteLength = bytes.length): string {
  const result = decodeTtShmRegion(bytes, byteLength);
  assert.ok(!result.ok, "expected a problem");
  assert.ok(result.problem.message.length > 0);
  return result.problem.code;
}

function codeOf(spec: RegionSpec, patch?: (view: DataView) => void): string {
  const bytes = buildRegion(spec);
  patch?.(new DataView(bytes.buffer));
  return problemOf(bytes);
}

test("TOO_SHORT: no version field, or fewer bytes than the stated version's layout", () => {
  assert.equal(problemOf(new Uint8Array(0)), TtShmProblemCode.TOO_SHORT);
  assert.equal(problemOf(new Uint8Array([4, 0, 0])), TtShmProblemCode.TOO_SHORT);
  const v4 = buildRegion({ layout: 4 });
  assert.equal(problemOf(v4.subarray(0, 8575)), TtShmProblemCode.TOO_SHORT);
  assert.equal(problemOf(v4, 8575), TtShmProblemCode.TOO_SHORT, "byteLength counts, not the buffer's size");
  assert.equal(problemOf(v4, -5), TtShmProblemCode.TOO_SHORT);
  const v1 = buildRegion({ layout: 1 });
  assert.equal(problemOf(v1.subarray(0, 9279)), TtShmProblemCode.TOO_SHORT);
  assert.equal(
    problemOf(v1.subarray(0, 8576)),
    TtShmProblemCode.TOO_SHORT,
    "a v1 region is longer than v2-v4",
  );
});

test("UNKNOWN_VERSION: any version but 0..4", () => {
  for (const version of [5, 0x100, 0xffffffff])
    assert.equal(codeOf({ layout: 4, version }), TtShmProblemCode.UNKNOWN_VERSION);
});

test("INITIALISING: version 0 (v2/v3: no init marker), v4 init_state uninitialised or in progress", () => {
  assert.equal(codeOf({ layout: 3, version: 0 }), TtShmProblemCode.INITIALISING);
  assert.equal(codeOf({ layout: 2, version: 0 }), TtShmProblemCode.INITIALISING);
  assert.equal(problemOf(new Uint8Array(8576)), TtShmProblemCode.INITIALISING, "a zero-filled region");
  assert.equal(codeOf({ layout: 4, initState: 0 }), TtShmProblemCode.INITIALISING);
  assert.equal(codeOf({ layout: 4, initState: 1 }), TtShmProblemCode.INITIALISING);
});

test("IMPLAUSIBLE: values no tt-metal writer produces", () => {
  const I = TtShmProblemCode.IMPLAUSIBLE;
  const big = 2n ** 53n;
  assert.equal(codeOf({ layout: 4, initState: 7 }), I, "an unknown init_state");
  assert.equal(codeOf({ layout: 4, totals: { DRAM: big } }), I, "a total >= 2^53");
  assert.equal(codeOf({ layout: 1, totals: { KERNEL: big } }), I, "v1's KERNEL total >= 2^53");
  assert.equal(codeOf({ layout: 4, chips: [{ chipId: 1, used: { CB: big } }] }), I, "a chip counter >= 2^53");
  assert.equal(codeOf({ layout: 2, slots: [{ pid: 5, used: { L1: 2n ** 64n - 1n } }] }), I, "a slot counter");
  assert.equal(codeOf({ layout: 4, numActive: 65 }), I, "v4 num_active_processes > 64");
  assert.equal(codeOf({ layout: 4, deviceId: 0xffff }), I, "a device id past the u16 ids");
  assert.equal(codeOf({ layout: 1, deviceId: -1 }), I, "a negative v1 device id");
  assert.equal(codeOf({ layout: 3, chips: [{ chipId: 0x10000 }] }), I, "an absurd chip id");
  assert.equal(
    codeOf({ layout: 3, chips: [{ chipId: 1 }] }, (v) => v.setUint32(88 + 4, 2, true)),
    I,
    "is_remote 2",
  );
  assert.equal(codeOf({ layout: 4, slots: [{ pid: -2 }] }), I, "a negative pid other than -1");
  assert.equal(codeOf({ layout: 1, slots: [{ pid: -1 }] }), I, "v1 has no 'releasing' pid");
  assert.equal(codeOf({ layout: 4, slots: [{ pid: 4_194_305 }] }), I, "a pid past PID_MAX_LIMIT");
  assert.equal(
    codeOf({ layout: 4, slots: [{ pid: 3, nameBytes: new Uint8Array(64).fill(0x41) }] }),
    I,
    "no NUL",
  );
  assert.equal(
    codeOf({ layout: 1 }, (v) => v.setBigUint64(32, 0x100n, true)),
    I,
    "v1 asic_id past its low byte",
  );
  assert.equal(
    codeOf({ layout: 1 }, (v) => v.setBigUint64(24, 2n ** 56n, true)),
    I,
    "v1 board_serial past 56 bits",
  );
});

test("not IMPLAUSIBLE: v1-v3 num_active_processes drifts (racy ++/-- in tt-metal), so it is not checked", () => {
  for (const layout of [1, 2, 3] as const) {
    const bytes = buildRegion({ layout, numActive: 0xffffffff });
    assert.ok(decodeTtShmRegion(bytes, bytes.length).ok, `v${layout}`);
  }
  const free = buildRegion({ layout: 4, slots: [{ index: 5, pid: 0, used: { DRAM: 2n ** 60n } }] });
  assert.ok(decodeTtShmRegion(free, free.length).ok, "a free slot's leftovers are not read");
});
