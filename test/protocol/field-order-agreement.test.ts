// The eight change fields travel as plain parameters on the hot paths (a rest tuple would allocate per
// change), so their order is defined once as a tuple in each pure layer (ChangeFields in the device model,
// EventFields in the protocol; neither layer imports the other). This test holds the two equal, and
// drives one change through every hop that passes the fields to prove each hop keeps the order.
import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import { TrackingProcessor } from "../../src/client/tracking-processor.js";
import { type AllocationChange, type ChangeFields, ChangeOp } from "../../src/device/change.js";
import { MEMORY_TYPES } from "../../src/device/memory-type.js";
import { type EventFields, EventOp } from "../../src/protocol/event.js";
import { EventBatchEncoder } from "../../src/protocol/event-batch-encoder.js";
import {
  EventRecordOffset,
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
} from "../../src/protocol/event-record.js";
import { EVENT_RECORD_BYTES, EVENTS_HEADER_BYTES, LENGTH_FIELD_BYTES } from "../../src/protocol/layout.js";

// Compile-time: each tuple is assignable to the other, label for label in position.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const tuplesAgree: Same<ChangeFields, EventFields> = true;

test("ChangeOp and EventOp are one vocabulary: same names, same numbers", () => {
  assert.ok(tuplesAgree);
  assert.deepEqual({ ...ChangeOp }, { ...EventOp });
});

test("EventRecordOffset matches the 48-byte record: fields in EventFields order, u64s 8-aligned", () => {
  assert.deepEqual(Object.keys(EventRecordOffset), [
    "OP",
    "MEMORY_TYPE",
    "DEVICE_ID",
    "CONTEXT_ID",
    "SEQ",
    "ALLOCATION_ID",
    "ADDRESS",
    "SIZE_BYTES",
    "TIMESTAMP_NS",
  ]);
  assert.equal(EventRecordOffset.TIMESTAMP_NS + 8, EVENT_RECORD_BYTES);
});

const arbChange = fc.record<AllocationChange>({
  op: fc.constantFrom(ChangeOp.ALLOC, ChangeOp.FREE),
  deviceId: fc.integer({ min: 0, max: 0xfffe }),
  memoryType: fc.constantFrom(...MEMORY_TYPES),
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  allocationId: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  address: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  sizeBytes: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  timestampNs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
});

test("a change keeps every field through processFields → record → encoder → both record readers", () => {
  fc.assert(
    fc.property(arbChange, (change) => {
      const encoder = new EventBatchEncoder(1);
      const processor = new TrackingProcessor({
        // The ninth argument is the context text ("" here: no devices given), not a wire field.
        record: (...event: [...EventFields, context?: string]) => {
          assert.equal(event[8] ?? "", "");
          assert.ok(encoder.append(...(event.slice(0, 8) as EventFields)));
        },
      });
      processor.processFields(
        change.op,
        change.deviceId,
        change.memoryType,
        change.seq,
        change.allocationId,
        change.address,
        change.sizeBytes,
        change.timestampNs,
      );
      const records = encoder.finish().subarray(LENGTH_FIELD_BYTES + EVENTS_HEADER_BYTES);
      assert.deepEqual({ ...readEventRecord(records, 0, emptyAllocationEvent()) }, { ...change });
      const view = eventRecordsView(records);
      assert.deepEqual(
        [
          eventOp(view, 0),
          eventDeviceId(view, 0),
          eventMemoryType(view, 0),
          eventSeq(view, 0),
          eventAllocationId(view, 0),
          eventAddress(view, 0),
          eventSizeBytes(view, 0),
        ],
        [
          change.op,
          change.deviceId,
          change.memoryType,
          change.seq,
          change.allocationId,
          change.address,
          change.sizeBytes,
        ],
      );
    }),
    { numRuns: 300 },
  );
});
