// The decoder never throws, whatever the bytes; random regions written at the documented offsets decode
// to exactly what was written.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { decodeTtShmRegion } from "../../src/protocol/tt-shm/decode.js";
import { TtShmProblemCode } from "../../src/protocol/tt-shm/problems.js";
import { buildRegion, type Counters, expectedRegion, type RegionSpec } from "./region-writer.js";

const CODES = new Set<string>(Object.values(TtShmProblemCode));

function decodesOrNamesAProblem(bytes: Uint8Array, byteLength: number): void {
  const result = decodeTtShmRegion(bytes, byteLength);
  if (result.ok) {
    assert.equal(result.region.totalsBytes.length, 7);
    for (const slot of result.region.slots) assert.ok(slot.pid > 0);
  } else {
    assert.ok(CODES.has(result.problem.code), result.problem.code);
  }
}

test("arbitrary bytes never throw: a region or a known problem code", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 10240 }),
      fc.integer({ min: -10, max: 20000 }),
      (bytes, length) => {
        decodesOrNamesAProblem(bytes, length);
      },
    ),
    { numRuns: 300 },
  );
});

test("valid regions with random bytes overwritten never throw (garbage past the version check)", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(1, 2, 3, 4),
      fc.array(fc.tuple(fc.nat({ max: 9279 }), fc.integer({ min: 0, max: 255 })), { maxLength: 64 }),
      (layout, pokes) => {
        const bytes = buildRegion({ layout: layout as 1 | 2 | 3 | 4, slots: [{ pid: 10, name: "x" }] });
        for (const [at, value] of pokes) if (at >= 4 && at < bytes.length) bytes[at] = value;
        decodesOrNamesAProblem(bytes, bytes.length);
      },
    ),
    { numRuns: 500 },
  );
});

const counter = fc.oneof(fc.constant(0), fc.nat(), fc.maxSafeNat());
const counters: fc.Arbitrary<Counters> = fc.record({
  DRAM: counter,
  L1: counter,
  L1_SMALL: counter,
  TRACE: counter,
  CB: counter,
  KERNEL: counter,
});
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const name = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 15,
});

const spec: fc.Arbitrary<RegionSpec> = fc.record({
  layout: fc.constantFrom(1, 2, 3, 4) as fc.Arbitrary<1 | 2 | 3 | 4>,
  asicId: u64,
  deviceId: fc.nat({ max: 0xfffe }),
  lastUpdateNs: u64,
  numActive: fc.nat({ max: 64 }),
  totals: counters,
  chips: fc.array(fc.record({ chipId: fc.nat({ max: 0xfffe }), remote: fc.boolean(), used: counters }), {
    maxLength: 16,
  }),
  slots: fc.uniqueArray(
    fc.record({
      index: fc.nat({ max: 63 }),
      pid: fc.oneof(fc.integer({ min: 1, max: 4_194_304 }), fc.constant(0)),
      name,
      used: counters,
      lastUpdateNs: u64,
    }),
    { selector: (s) => s.index, maxLength: 64 },
  ),
});

test("round trip: a random region of any version decodes to what was written", () => {
  fc.assert(
    fc.property(spec, (s) => {
      const bytes = buildRegion(s);
      const result = decodeTtShmRegion(bytes, bytes.length);
      assert.ok(result.ok, result.ok ? "" : result.problem.message);
      assert.deepEqual(result.region, expectedRegion(s));
    }),
    { numRuns: 300 },
  );
});
