// Allocation contexts (protocol version 3, docs/PROTOCOL.md §3.8): the CONTEXT frame, context ids in
// ALLOC records and snapshot entries, and the rule that versions 1 and 2 keep those bytes reserved.
import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import { encodeContext, encodeSnapshotChunk } from "../../src/protocol/encode-frame.js";
import { ProtocolError, ProtocolErrorCode } from "../../src/protocol/errors.js";
import type { LiveAllocation } from "../../src/protocol/event.js";
import { EventBatchEncoder } from "../../src/protocol/event-batch-encoder.js";
import { eventContextId, eventRecordsView } from "../../src/protocol/event-record.js";
import { FrameType } from "../../src/protocol/frames.js";
import { EVENT_RECORD_BYTES, MAX_CONTEXT_BYTES } from "../../src/protocol/layout.js";
import {
  arbDeviceId,
  arbEvent,
  arbLiveAllocation,
  arbText,
  concat,
  decodeChunked,
  fromHex,
} from "./wire-fixtures.js";

const arbContextId = fc.oneof(
  fc.integer({ min: 1, max: 0xffffffff }),
  fc.constantFrom(1, 2, 0xffff, 0x10000, 0xffffffff),
);
const V3 = { version: 3 };

test("CONTEXT: decode(encode(frame)) equals frame on a version 3 stream, under any chunking", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ contextId: arbContextId, text: arbText(MAX_CONTEXT_BYTES) }), { maxLength: 6 }),
      fc.array(fc.nat({ max: 2000 }), { maxLength: 10 }),
      (contexts, cuts) => {
        const bytes = concat(...contexts.map(encodeContext));
        const frames = contexts.map((c) => ({ type: FrameType.CONTEXT, ...c }));
        assert.deepEqual(decodeChunked(bytes, cuts, V3), { frames, code: undefined });
      },
    ),
    { numRuns: 300 },
  );
});

test("CONTEXT: the encoder refuses what the decoder would (id 0, not a u32, text too long)", () => {
  const refused = (contextId: number, text: string, code: string) =>
    assert.throws(
      () => encodeContext({ contextId, text }),
      (e: unknown) => e instanceof ProtocolError && e.code === code,
    );
  refused(0, "x", ProtocolErrorCode.INVALID_FIELD);
  refused(2 ** 32, "x", ProtocolErrorCode.INVALID_VALUE);
  refused(1.5, "x", ProtocolErrorCode.INVALID_VALUE);
  refused(1, "é".repeat(129), ProtocolErrorCode.STRING_TOO_LONG);
  // 256 bytes exactly is fine.
  assert.equal(decodeChunked(encodeContext({ contextId: 1, text: "é".repeat(128) }), [], V3).code, undefined);
});

test("EVENTS: an ALLOC's context id survives encoder → version 3 decoder; a version 2 decoder refuses it", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(arbEvent, fc.oneof(fc.constant(0), arbContextId)), { minLength: 1, maxLength: 30 }),
      (pairs) => {
        const encoder = new EventBatchEncoder(pairs.length);
        const expected: number[] = [];
        for (const [e, context] of pairs) {
          const contextId = e.op === 1 ? context : 0;
          expected.push(contextId);
          encoder.append(
            e.op,
            e.deviceId,
            e.memoryType,
            e.seq,
            e.allocationId,
            e.address,
            e.sizeBytes,
            e.timestampNs,
            contextId,
          );
        }
        const bytes = encoder.finish();
        const decoded = decodeChunked(bytes, [], V3);
        assert.equal(decoded.code, undefined);
        const frame = decoded.frames[0] as { type: 3; records: string };
        const records = fromHex(frame.records);
        const view = eventRecordsView(records);
        assert.deepEqual(
          expected.map((_, i) => eventContextId(view, i * EVENT_RECORD_BYTES)),
          expected,
        );
        const old = decodeChunked(bytes);
        const cites = expected.some((c) => c !== 0);
        assert.equal(old.code, cites ? ProtocolErrorCode.RESERVED_NOT_ZERO : undefined);
      },
    ),
    { numRuns: 300 },
  );
});

test("EVENTS: the encoder refuses a context id on a FREE and one that is not a u32", () => {
  const encoder = new EventBatchEncoder(4);
  assert.throws(
    () => encoder.append(2, 0, 0, 1, 1, 0, 64, 0, 5),
    (e: unknown) => e instanceof ProtocolError && e.code === ProtocolErrorCode.RESERVED_NOT_ZERO,
  );
  assert.throws(
    () => encoder.append(1, 0, 0, 1, 1, 0, 64, 0, -1),
    (e: unknown) => e instanceof ProtocolError && e.code === ProtocolErrorCode.INVALID_VALUE,
  );
  assert.equal(encoder.count, 0);
});

test("SNAPSHOT_CHUNK: entries' context ids round-trip on version 3; version 2 refuses non-zero ones", () => {
  fc.assert(
    fc.property(
      arbDeviceId,
      fc.array(fc.tuple(arbLiveAllocation, fc.oneof(fc.constant(0), arbContextId)), { maxLength: 30 }),
      (deviceId, pairs) => {
        const allocations: LiveAllocation[] = pairs.map(([a, contextId]) =>
          contextId === 0 ? a : { ...a, contextId },
        );
        const bytes = encodeSnapshotChunk({ deviceId, allocations });
        assert.deepEqual(decodeChunked(bytes, [], V3), {
          frames: [{ type: FrameType.SNAPSHOT_CHUNK, deviceId, allocations }],
          code: undefined,
        });
        const cites = allocations.some((a) => a.contextId !== undefined);
        assert.equal(decodeChunked(bytes).code, cites ? ProtocolErrorCode.RESERVED_NOT_ZERO : undefined);
      },
    ),
    { numRuns: 300 },
  );
});
