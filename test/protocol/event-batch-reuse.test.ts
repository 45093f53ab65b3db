import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import type { ProtocolError } from "../../src/protocol/errors.js";
import { checkEvent, EventBatchEncoder } from "../../src/protocol/event-batch-encoder.js";
import { appendEvents, arbEvent, decodeChunked, eventsFrame, plain } from "./wire-fixtures.js";

test("a full batch is handed over without a copy and a recycled buffer serves a later batch", () => {
  const encoder = new EventBatchEncoder(4);
  for (let i = 1; i <= 4; i++) encoder.append(1, 0, 0, i, i, 0, 8, 0);
  const first = encoder.finish();
  const firstCopy = first.slice();
  for (let i = 5; i <= 8; i++) encoder.append(1, 0, 0, i, i, 0, 8, 0);
  const second = encoder.finish();
  assert.notEqual(second.buffer, first.buffer, "the next batch went to another buffer");
  assert.deepEqual(first, firstCopy, "appends after finish never change a handed-over frame");
  // The batch being filled has its buffer already; the recycled one serves the batch after it.
  encoder.recycle(first);
  for (let i = 9; i <= 12; i++) encoder.append(1, 0, 0, i, i, 0, 8, 0);
  const third = encoder.finish();
  for (let i = 13; i <= 16; i++) encoder.append(1, 0, 0, i, i, 0, 8, 0);
  const fourth = encoder.finish();
  assert.notEqual(third.buffer, first.buffer);
  assert.equal(fourth.buffer, first.buffer, "the recycled buffer was reused");
  assert.deepEqual(
    decodeChunked(fourth).frames.map((f) => (f as { count: number }).count),
    [4],
  );
});

test("a small batch is a copy, and recycling a copy, a foreign frame or a frame twice is ignored", () => {
  const encoder = new EventBatchEncoder(8);
  encoder.append(1, 0, 0, 1, 1, 0, 8, 0);
  const small = encoder.finish();
  assert.equal(small.buffer.byteLength, small.length, "a 1-of-8 batch is an exact-size copy");
  encoder.recycle(small);
  encoder.recycle(new Uint8Array(9 + 8 * 48).subarray(1));
  for (let i = 2; i <= 9; i++) encoder.append(1, 0, 0, i, i, 0, 8, 0);
  const full = encoder.finish();
  encoder.recycle(full);
  encoder.recycle(full);
  const buffers: ArrayBufferLike[] = [];
  for (let batch = 0; batch < 4; batch++) {
    for (let i = 0; i < 8; i++) encoder.append(1, 0, 0, 10 + batch * 8 + i, 1, 0, 8, 0);
    buffers.push(encoder.finish().buffer);
  }
  assert.equal(buffers[1], full.buffer, "the recycled buffer serves the batch after the current one");
  assert.equal(new Set(buffers).size, 4, "a buffer recycled twice is still handed to one batch only");
});

test("frames stay exact through any sequence of batches and recycles", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.array(arbEvent, { maxLength: 6 }), fc.boolean()), { minLength: 1, maxLength: 12 }),
      (steps) => {
        const encoder = new EventBatchEncoder(6);
        const held: { frame: Uint8Array; expected: Uint8Array }[] = [];
        for (const [events, recycleOldest] of steps) {
          appendEvents(encoder, events);
          const frame = encoder.finish();
          assert.deepEqual(decodeChunked(frame), { frames: [plain(eventsFrame(events))], code: undefined });
          held.push({ frame, expected: frame.slice() });
          for (const h of held) assert.deepEqual(h.frame, h.expected, "a frame not yet recycled changed");
          if (recycleOldest) encoder.recycle(held.shift()!.frame);
        }
      },
    ),
    { numRuns: 200 },
  );
});

const arbNumber = fc.oneof(
  fc.constantFrom(0, -0, 1, -1, 0.5, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 64, -(2 ** 32)),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0xffff, 0xfffe, 7, 8),
  fc.maxSafeNat(),
  fc.double(),
  fc.integer(),
);

test("append accepts and rejects exactly what checkEvent does, with the same code", () => {
  fc.assert(
    fc.property(
      fc.array(arbNumber, { minLength: 8, maxLength: 8 }),
      fc.boolean(),
      (values, plausibleHead) => {
        const [op, deviceId, memoryType, seq, allocationId, address, sizeBytes, timestampNs] = plausibleHead
          ? [1, 0, 0, ...values.slice(3)]
          : values;
        const args = [op, deviceId, memoryType, seq, allocationId, address, sizeBytes, timestampNs] as const;
        let expected: string | undefined;
        try {
          checkEvent(...args);
        } catch (error) {
          expected = (error as ProtocolError).code;
        }
        const encoder = new EventBatchEncoder(2);
        if (expected === undefined) {
          assert.ok(encoder.append(...args));
          assert.equal(decodeChunked(encoder.finish()).code, undefined);
        } else {
          assert.throws(() => encoder.append(...args), { code: expected });
          assert.equal(encoder.count, 0);
        }
      },
    ),
    { numRuns: 2000 },
  );
});
