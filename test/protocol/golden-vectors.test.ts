import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import { GOLDEN_VECTORS } from "./golden-vectors.js";
import { concat, decodeByteByByte, decodeChunked } from "./wire-fixtures.js";

// Each golden vector, four ways: whole, byte by byte, random splits, and embedded in arbitrary bytes.

for (const vector of GOLDEN_VECTORS) {
  test(`golden "${vector.name}": whole`, () => {
    assert.deepEqual(decodeChunked(vector.bytes), { frames: vector.frames, code: vector.code });
  });

  test(`golden "${vector.name}": byte by byte`, () => {
    assert.deepEqual(decodeByteByByte(vector.bytes), { frames: vector.frames, code: vector.code });
  });

  test(`golden "${vector.name}": random splits`, () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: Math.max(0, vector.bytes.length) }), { maxLength: 12 }), (cuts) => {
        assert.deepEqual(decodeChunked(vector.bytes, cuts), { frames: vector.frames, code: vector.code });
      }),
      { numRuns: 150 },
    );
  });

  test(`golden "${vector.name}": followed by arbitrary bytes, any chunking`, () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.array(fc.nat({ max: 400 }), { maxLength: 8 }),
        (tail, cuts) => {
          const bytes = concat(vector.bytes, tail);
          const whole = decodeChunked(bytes);
          // The vector's frames come first whatever follows (unless the vector itself ended in error).
          assert.deepEqual(whole.frames.slice(0, vector.frames.length), vector.frames);
          if (vector.code !== undefined && vector.code !== "PROTO_TRUNCATED_FRAME") {
            assert.equal(whole.code, vector.code);
          }
          assert.deepEqual(decodeChunked(bytes, cuts), whole);
        },
      ),
      { numRuns: 100 },
    );
  });
}

test("arbitrary bytes: only frames or a ProtocolError come out, the same for any chunking", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.array(fc.nat({ max: 300 }), { maxLength: 10 }),
      (bytes, cuts) => {
        const whole = decodeChunked(bytes);
        assert.deepEqual(decodeChunked(bytes, cuts), whole);
      },
    ),
    { numRuns: 1000 },
  );
});

test("arbitrary bytes behind a plausible small length: the body decoder sees every kind of garbage", () => {
  // Random bytes rarely form a small length; force one so that the frame body parsers get exercised.
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 9 }), fc.uint8Array({ maxLength: 200 }), (type, payload) => {
      const frame = new Uint8Array(5 + payload.length);
      new DataView(frame.buffer).setUint32(0, 1 + payload.length, true);
      frame[4] = type;
      frame.set(payload, 5);
      const outcome = decodeByteByByte(frame);
      assert.ok(outcome.frames.length + (outcome.code === undefined ? 0 : 1) === 1);
    }),
    { numRuns: 2000 },
  );
});
