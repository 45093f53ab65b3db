import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import { EventBatchEncoder } from "../../src/protocol/event-batch-encoder.js";
import { emptyAllocationEvent, readEventRecord } from "../../src/protocol/event-record.js";
import { DEFAULT_MAX_FRAME_BYTES } from "../../src/protocol/frames.js";
import { maxEventsPerFrame } from "../../src/protocol/layout.js";
import { appendEvents, arbEvent, decodeChunked, eventsFrame, plain } from "./wire-fixtures.js";

test("append/finish produce the EVENTS frame of the appended events, then start empty", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(arbEvent, { maxLength: 20 }), { minLength: 1, maxLength: 4 }),
      (batches) => {
        const encoder = new EventBatchEncoder(20);
        for (const events of batches) {
          appendEvents(encoder, events);
          assert.equal(encoder.count, events.length);
          assert.equal(encoder.bytes, 9 + 48 * events.length);
          const frame = encoder.finish();
          assert.equal(frame.length, 9 + 48 * events.length);
          assert.deepEqual(decodeChunked(frame), { frames: [plain(eventsFrame(events))], code: undefined });
          assert.equal(encoder.count, 0);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test("a full batch refuses the next event without writing it", () => {
  const encoder = new EventBatchEncoder(2);
  assert.ok(encoder.append(1, 0, 0, 1, 1, 0, 8, 0));
  assert.ok(encoder.append(1, 0, 0, 2, 2, 8, 8, 0));
  assert.ok(encoder.isFull);
  assert.equal(encoder.append(1, 0, 0, 3, 3, 16, 8, 0), false);
  assert.equal(encoder.count, 2);
  const out = emptyAllocationEvent();
  const decoded = decodeChunked(encoder.finish());
  assert.equal(decoded.frames.length, 1);
  assert.ok(encoder.append(1, 0, 0, 3, 3, 16, 8, 0), "room again after finish");
  const records = encoder.finish().subarray(9);
  assert.equal(readEventRecord(records, 0, out).seq, 3);
});

test("finish returns a copy: later appends do not change an earlier frame", () => {
  const encoder = new EventBatchEncoder(4);
  encoder.append(1, 0, 0, 1, 1, 0, 8, 0);
  const first = encoder.finish();
  const snapshot = first.slice();
  encoder.append(2, 5, 6, 99, 98, 97, 96, 95);
  encoder.finish();
  assert.deepEqual(first, snapshot);
});

test("reset drops the pending events", () => {
  const encoder = new EventBatchEncoder(4);
  encoder.append(1, 0, 0, 1, 1, 0, 8, 0);
  encoder.reset();
  assert.equal(encoder.count, 0);
  assert.deepEqual(decodeChunked(encoder.finish()).frames, [{ type: 3, count: 0, records: "" }]);
});

test("the default capacity fills one maximum-size frame", () => {
  const encoder = new EventBatchEncoder();
  assert.equal(encoder.capacityEvents, maxEventsPerFrame(DEFAULT_MAX_FRAME_BYTES));
  assert.throws(() => new EventBatchEncoder(encoder.capacityEvents + 1), { code: "PROTO_INVALID_VALUE" });
});

test("an invalid value throws and leaves the batch unchanged", () => {
  const encoder = new EventBatchEncoder(4);
  encoder.append(1, 0, 0, 1, 1, 0, 8, 0);
  assert.throws(() => encoder.append(1, 0, 0, 2, 2, -1, 8, 0), { code: "PROTO_U64_OUT_OF_RANGE" });
  assert.throws(() => encoder.append(1, 0, 0, 2, 2, 0.5, 8, 0), { code: "PROTO_U64_OUT_OF_RANGE" });
  assert.throws(() => encoder.append(1, 70000, 0, 2, 2, 0, 8, 0), { code: "PROTO_INVALID_DEVICE_ID" });
  assert.throws(() => encoder.append(1, 0, Number.NaN, 2, 2, 0, 8, 0), { code: "PROTO_INVALID_MEMORY_TYPE" });
  assert.equal(encoder.count, 1);
});
