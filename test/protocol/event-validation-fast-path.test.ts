// Property: the one-pass word-level check of EVENTS records (validateEventRecords, the decoder's fast
// path) accepts exactly the frames the field-by-field check (validateEventRecord) accepts, reports the
// same first bad record with the same code, and the fast field readers return what readEventRecord does.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  emptyAllocationEvent,
  eventAddress,
  eventAllocationId,
  eventDeviceId,
  eventMemoryType,
  eventOp,
  eventRecordsView,
  eventSeq,
  eventSizeBytes,
  readEventRecord,
  validateEventRecord,
  validateEventRecords,
} from "../../src/protocol/event-record.js";
import { ALL_DEVICES } from "../../src/protocol/frames.js";
import { EVENT_RECORD_BYTES } from "../../src/protocol/layout.js";
import { writeU16, writeU32 } from "../../src/protocol/little-endian.js";

// A u32 word near the boundaries that matter: 0, the 2^21 limit of a u64 high word, all ones.
const wordArb = fc.oneof(
  fc.constantFrom(0, 1, 0x1fffff, 0x200000, 0x80000000, 0xffffffff),
  fc.nat({ max: 0x1fffff }),
  fc.nat({ max: 0xffffffff }),
);

/** Mostly valid records, each field sometimes out of range. */
const recordArb = fc.record({
  op: fc.oneof(fc.constantFrom(1, 2), fc.nat(255)),
  memoryType: fc.oneof(fc.nat(6), fc.nat(255)),
  deviceId: fc.oneof(fc.nat(8), fc.constant(ALL_DEVICES), fc.nat(0xffff)),
  reserved: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: wordArb }),
  words: fc.array(
    fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 0x1fffff }) }, { weight: 1, arbitrary: wordArb }),
    {
      minLength: 10,
      maxLength: 10,
    },
  ),
});

type RecordFields = typeof recordArb extends fc.Arbitrary<infer T> ? T : never;

/** Records at an odd byte offset, as they sit inside a socket chunk. */
function encode(records: RecordFields[]): Uint8Array {
  const bytes = new Uint8Array(3 + records.length * EVENT_RECORD_BYTES);
  records.forEach((r, i) => {
    const o = 3 + i * EVENT_RECORD_BYTES;
    bytes[o] = r.op;
    bytes[o + 1] = r.memoryType;
    writeU16(bytes, o + 2, r.deviceId);
    writeU32(bytes, o + 4, r.reserved);
    for (let w = 0; w < 10; w++) writeU32(bytes, o + 8 + w * 4, r.words[w]!);
  });
  return bytes.subarray(3);
}

test("the fast EVENTS check agrees with the field-by-field check", () => {
  fc.assert(
    fc.property(fc.array(recordArb, { maxLength: 12 }), (fields) => {
      const records = encode(fields);
      let expected: string | undefined;
      let expectedMessage: string | undefined;
      for (let i = 0; i < fields.length && expected === undefined; i++) {
        const problem = validateEventRecord(records, i);
        expected = problem?.code;
        expectedMessage = problem?.message;
      }
      const actual = validateEventRecords(records, eventRecordsView(records), fields.length);
      assert.equal(actual?.code, expected);
      assert.equal(actual?.message, expectedMessage);
    }),
    { numRuns: 2000 },
  );
});

test("the fast field readers return what readEventRecord returns", () => {
  fc.assert(
    fc.property(fc.array(recordArb, { minLength: 1, maxLength: 8 }), (fields) => {
      const records = encode(fields);
      const view = eventRecordsView(records);
      const event = emptyAllocationEvent();
      for (let i = 0; i < fields.length; i++) {
        if (validateEventRecord(records, i) !== undefined) continue;
        readEventRecord(records, i, event);
        const o = i * EVENT_RECORD_BYTES;
        assert.deepEqual(
          [
            eventOp(view, o),
            eventMemoryType(view, o),
            eventDeviceId(view, o),
            eventSeq(view, o),
            eventAllocationId(view, o),
            eventAddress(view, o),
            eventSizeBytes(view, o),
          ],
          [
            event.op,
            event.memoryType,
            event.deviceId,
            event.seq,
            event.allocationId,
            event.address,
            event.sizeBytes,
          ],
        );
      }
    }),
    { numRuns: 500 },
  );
});
