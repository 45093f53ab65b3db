import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import { encodeFrame } from "../../src/protocol/encode-frame.js";
import { arbFrame, concat, decodeChunked } from "./wire-fixtures.js";

// Valid streams with bytes flipped, inserted or deleted: the decoder must return frames or a
// ProtocolError (decodeChunked throws on anything else), and chunking must not change the outcome.

type Mutation =
  | { kind: "flip"; at: number; xor: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "insert"; at: number; value: number }
  | { kind: "delete"; at: number };

const arbMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({
    kind: fc.constant("set" as const),
    at: fc.nat(),
    value: fc.constantFrom(0, 0xff, 0x80, 1, 0x7f),
  }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
);

function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let out = bytes;
  for (const m of mutations) {
    if (out.length === 0) break;
    const at = m.at % out.length;
    if (m.kind === "flip") {
      out = out.slice();
      out[at] ^= m.xor;
    } else if (m.kind === "set") {
      out = out.slice();
      out[at] = m.value;
    } else if (m.kind === "insert") {
      out = concat(out.subarray(0, at), Uint8Array.of(m.value), out.subarray(at));
    } else {
      out = concat(out.subarray(0, at), out.subarray(at + 1));
    }
  }
  return out;
}

test("mutated valid streams never throw and decode the same under any chunking", () => {
  fc.assert(
    fc.property(
      fc.array(arbFrame, { minLength: 1, maxLength: 4 }),
      fc.array(arbMutation, { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat({ max: 3000 }), { maxLength: 10 }),
      (frames, mutations, cuts) => {
        const bytes = mutate(concat(...frames.map(encodeFrame)), mutations);
        const whole = decodeChunked(bytes);
        assert.deepEqual(decodeChunked(bytes, cuts), whole);
      },
    ),
    { numRuns: 1500 },
  );
});

test("a mutated stream that still decodes cleanly re-encodes to the same bytes", () => {
  // Catches decoders that accept a non-canonical byte and lose it (e.g. unchecked reserved bits).
  fc.assert(
    fc.property(
      fc.array(arbFrame, { minLength: 1, maxLength: 3 }),
      fc.array(arbMutation, { minLength: 1, maxLength: 2 }),
      (frames, mutations) => {
        const bytes = mutate(concat(...frames.map(encodeFrame)), mutations);
        const outcome = decodeChunked(bytes);
        if (outcome.code !== undefined) return;
        const reencoded = concat(
          ...outcome.frames.map((f) =>
            encodeFrame(f.type === 3 ? { ...f, records: Uint8Array.from(Buffer.from(f.records, "hex")) } : f),
          ),
        );
        assert.deepEqual(reencoded, bytes);
      },
    ),
    { numRuns: 1500 },
  );
});
