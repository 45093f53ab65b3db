import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import { encodeEvents, encodeFrame } from "../../src/protocol/encode-frame.js";
import { emptyAllocationEvent, readEventRecord } from "../../src/protocol/event-record.js";
import { type Frame, FrameType } from "../../src/protocol/frames.js";
import { arbEvent, arbFrame, concat, decodeChunked, plain } from "./wire-fixtures.js";

test("every frame type: decode(encode(frame)) equals frame", () => {
  fc.assert(
    fc.property(arbFrame, (frame) => {
      assert.deepEqual(decodeChunked(encodeFrame(frame)), { frames: [plain(frame)], code: undefined });
    }),
    { numRuns: 600 },
  );
});

test("a stream of frames decodes to the same frames under any chunking", () => {
  fc.assert(
    fc.property(
      fc.array(arbFrame, { maxLength: 8 }),
      fc.array(fc.nat({ max: 5000 }), { maxLength: 20 }),
      (frames, cuts) => {
        const bytes = concat(...frames.map(encodeFrame));
        assert.deepEqual(decodeChunked(bytes, cuts), { frames: frames.map(plain), code: undefined });
      },
    ),
    { numRuns: 200 },
  );
});

test("encodeEvents then readEventRecord gives back every event, reusing one object", () => {
  fc.assert(
    fc.property(fc.array(arbEvent, { maxLength: 60 }), (events) => {
      const decoded = decodeChunked(encodeEvents(events));
      assert.equal(decoded.code, undefined);
      const frame = decoded.frames[0] as Extract<Frame, { type: 3 }> & { records: string };
      assert.equal(frame.type, FrameType.EVENTS);
      assert.equal(frame.count, events.length);
      const records = Uint8Array.from(Buffer.from(frame.records, "hex"));
      const out = emptyAllocationEvent();
      events.forEach((event, i) => {
        assert.equal(readEventRecord(records, i, out), out);
        assert.deepEqual({ ...out }, event);
      });
    }),
    { numRuns: 300 },
  );
});
