import assert from "node:assert/strict";
import test from "node:test";
import { ConnectionState } from "../../src/protocol/connection-state.js";
import {
  encodeError,
  encodeEvents,
  encodeGoodbye,
  encodeHello,
  encodeSnapshotBegin,
  encodeSnapshotChunk,
  encodeSnapshotEnd,
  encodeWelcome,
} from "../../src/protocol/encode-frame.js";
import { ProtocolError, ProtocolErrorCode } from "../../src/protocol/errors.js";
import { EventBatchEncoder } from "../../src/protocol/event-batch-encoder.js";
import { FrameDecoder } from "../../src/protocol/frame-decoder.js";
import { type Frame, FrameType } from "../../src/protocol/frames.js";
import { HELLO_HEX, HELLO_V1_HEX } from "./golden-vectors.js";
import { concat, decodeByteByByte, decodeChunked, fromHex, rawFrame } from "./wire-fixtures.js";

// One test per error code, asserting the exact code, through the decoder (whole and byte by byte)
// where the code is a decoding error. The last test fails if a code has no test here.

const covered = new Set<string>();

function expectDecodeError(code: string, name: string, bytes: Uint8Array): void {
  covered.add(code);
  test(`${code}: ${name}`, () => {
    assert.equal(decodeChunked(bytes).code, code);
    assert.equal(decodeByteByByte(bytes).code, code);
  });
}

function expectThrown(code: string, name: string, action: () => unknown): void {
  covered.add(code);
  test(`${code}: ${name}`, () => {
    assert.throws(action, (error: unknown) => error instanceof ProtocolError && error.code === code);
  });
}

// The version 1 HELLO: the offsets below are its own (version 2 adds the resume secret after the id).
const hello = fromHex(HELLO_V1_HEX);
/** HELLO with bytes replaced from `at` (offset in the whole frame, length field included). */
function patchedHello(at: number, bytes: number[]): Uint8Array {
  const out = hello.slice();
  out.set(bytes, at);
  return out;
}
/** HELLO's payload with a different tail from `at`, re-framed with a correct length. */
function helloWithTail(at: number, tail: number[]): Uint8Array {
  return rawFrame(FrameType.HELLO, concat(hello.subarray(5, at), Uint8Array.from(tail)));
}
const HELLO_NAME_AT = 39; // u16 length of the process name (frame offset 35 + 4-byte length field)
const HELLO_DEVICE_COUNT_AT = 48;

const oneEvent = {
  op: 1 as const,
  deviceId: 0,
  memoryType: 0 as const,
  seq: 1,
  allocationId: 1,
  address: 0,
  sizeBytes: 64,
  timestampNs: 0,
};
const eventsFrame = encodeEvents([oneEvent]);
function patchedEvents(at: number, bytes: number[]): Uint8Array {
  const out = eventsFrame.slice();
  out.set(bytes, 9 + at);
  return out;
}

expectDecodeError(ProtocolErrorCode.FRAME_TOO_LARGE, "length field above the limit", fromHex("01001000"));
expectDecodeError(ProtocolErrorCode.EMPTY_FRAME, "length field 0", fromHex("00000000 01000000 09"));
expectDecodeError(ProtocolErrorCode.UNKNOWN_FRAME_TYPE, "type 0", rawFrame(0));
expectDecodeError(ProtocolErrorCode.UNKNOWN_FRAME_TYPE, "type 200", rawFrame(200, [1, 2, 3]));
expectDecodeError(
  ProtocolErrorCode.FRAME_TOO_SHORT,
  "EVENTS without its count",
  rawFrame(FrameType.EVENTS, [1, 0]),
);
expectDecodeError(
  ProtocolErrorCode.FRAME_TOO_SHORT,
  "HELLO cut after the version",
  rawFrame(1, hello.subarray(5, 11)),
);
expectDecodeError(ProtocolErrorCode.FRAME_TOO_SHORT, "SNAPSHOT_END without watermark", rawFrame(6, [0, 0]));
expectDecodeError(
  ProtocolErrorCode.FRAME_TOO_SHORT,
  "WELCOME with 1 byte",
  rawFrame(FrameType.WELCOME, [0x41]),
);
expectDecodeError(
  ProtocolErrorCode.LENGTH_MISMATCH,
  "EVENTS count 2 with one record",
  rawFrame(FrameType.EVENTS, concat(Uint8Array.of(2, 0, 0, 0), eventsFrame.subarray(9))),
);
expectDecodeError(
  ProtocolErrorCode.LENGTH_MISMATCH,
  "EVENTS count 0 with one record",
  rawFrame(FrameType.EVENTS, concat(Uint8Array.of(0, 0, 0, 0), eventsFrame.subarray(9))),
);
expectDecodeError(
  ProtocolErrorCode.LENGTH_MISMATCH,
  "HELLO with a trailing byte",
  rawFrame(1, concat(hello.subarray(5), Uint8Array.of(0))),
);
expectDecodeError(
  ProtocolErrorCode.LENGTH_MISMATCH,
  "SNAPSHOT_CHUNK count 1 with no record",
  rawFrame(5, [0, 0, 1, 0, 0, 0]),
);
expectDecodeError(ProtocolErrorCode.BAD_MAGIC, "HELLO magic 0", patchedHello(5, [0, 0, 0, 0]));
expectDecodeError(
  ProtocolErrorCode.BAD_MAGIC,
  "WELCOME magic byte-swapped",
  rawFrame(2, [0x48, 0x43, 0x57, 0x41, 1, 0, 0, 0, 16, 0]),
);
expectDecodeError(ProtocolErrorCode.UNSUPPORTED_VERSION, "HELLO version 0", patchedHello(9, [0, 0]));
// A future version may have a different layout after the version: the code must not depend on it.
expectDecodeError(
  ProtocolErrorCode.UNSUPPORTED_VERSION,
  "HELLO version 4, rest absent",
  rawFrame(1, [0x41, 0x57, 0x43, 0x48, 4, 0]),
);
expectDecodeError(
  ProtocolErrorCode.UNSUPPORTED_VERSION,
  "WELCOME version 7",
  rawFrame(2, [0x41, 0x57, 0x43, 0x48, 7, 0, 0, 0, 16, 0]),
);
expectDecodeError(ProtocolErrorCode.INVALID_OP, "op 0", patchedEvents(0, [0]));
expectDecodeError(ProtocolErrorCode.INVALID_OP, "op 3", patchedEvents(0, [3]));
expectDecodeError(ProtocolErrorCode.INVALID_MEMORY_TYPE, "event memory type 7", patchedEvents(1, [7]));
expectDecodeError(
  ProtocolErrorCode.INVALID_MEMORY_TYPE,
  "snapshot memory type 255",
  (() => {
    const chunk = encodeSnapshotChunk({
      deviceId: 1,
      allocations: [{ allocationId: 1, memoryType: 0, address: 0, sizeBytes: 1 }],
    });
    chunk[11] = 255;
    return chunk;
  })(),
);
expectDecodeError(ProtocolErrorCode.INVALID_DEVICE_ID, "event device 0xFFFF", patchedEvents(2, [0xff, 0xff]));
expectDecodeError(
  ProtocolErrorCode.INVALID_DEVICE_ID,
  "SNAPSHOT_BEGIN device 0xFFFF",
  rawFrame(4, [0xff, 0xff, ...new Array(12).fill(0)]),
);
expectDecodeError(
  ProtocolErrorCode.INVALID_DEVICE_ID,
  "HELLO device 0xFFFF",
  patchedHello(HELLO_DEVICE_COUNT_AT + 2, [0xff, 0xff]),
);
expectDecodeError(
  ProtocolErrorCode.U64_OUT_OF_RANGE,
  "event seq 2^53",
  patchedEvents(8, [0, 0, 0, 0, 0, 0, 0x20, 0]),
);
expectDecodeError(
  ProtocolErrorCode.U64_OUT_OF_RANGE,
  "event timestamp 2^64-1",
  patchedEvents(40, new Array(8).fill(0xff)),
);
expectDecodeError(
  ProtocolErrorCode.U64_OUT_OF_RANGE,
  "HELLO start ticks 2^53",
  patchedHello(31, [0, 0, 0, 0, 0, 0, 0x20, 0]),
);
expectDecodeError(
  ProtocolErrorCode.U64_OUT_OF_RANGE,
  "SNAPSHOT_END watermark 2^63",
  rawFrame(6, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]),
);
expectDecodeError(ProtocolErrorCode.RESERVED_NOT_ZERO, "event reserved byte 7", patchedEvents(7, [1]));
expectDecodeError(
  ProtocolErrorCode.RESERVED_NOT_ZERO,
  "snapshot record reserved byte",
  (() => {
    const chunk = encodeSnapshotChunk({
      deviceId: 1,
      allocations: [{ allocationId: 1, memoryType: 0, address: 0, sizeBytes: 1 }],
    });
    chunk[18] = 1;
    return chunk;
  })(),
);
expectDecodeError(ProtocolErrorCode.INVALID_SEQ, "event seq 0", patchedEvents(8, [0]));
expectDecodeError(
  ProtocolErrorCode.BAD_UTF8,
  "process name with a lone continuation byte",
  patchedHello(HELLO_NAME_AT + 2, [0x80]),
);
expectDecodeError(
  ProtocolErrorCode.BAD_UTF8,
  "overlong encoding of '/'",
  patchedHello(HELLO_NAME_AT, [2, 0, 0xc0, 0xaf]),
);
expectDecodeError(
  ProtocolErrorCode.BAD_UTF8,
  "UTF-8 encoded surrogate in an ERROR message",
  rawFrame(FrameType.ERROR, [1, 0, 0x41, 3, 0, 0xed, 0xa0, 0x80]),
);
expectDecodeError(
  ProtocolErrorCode.STRING_TOO_LONG,
  "process name of 257 bytes",
  helloWithTail(HELLO_NAME_AT, [1, 1, ...new Array(257).fill(0x61), 0, 0]),
);
expectDecodeError(
  ProtocolErrorCode.STRING_TOO_LONG,
  "RESYNC reason of 1025 bytes",
  rawFrame(7, [0, 0, 1, 4, ...new Array(1025).fill(0x61)]),
);
expectDecodeError(
  ProtocolErrorCode.TOO_MANY_DEVICES,
  "HELLO announcing 257 devices",
  helloWithTail(HELLO_DEVICE_COUNT_AT, [1, 1]),
);
expectDecodeError(
  ProtocolErrorCode.DUPLICATE_DEVICE,
  "HELLO listing device 0 twice",
  rawFrame(
    1,
    concat(
      hello.subarray(5, HELLO_DEVICE_COUNT_AT),
      Uint8Array.of(2, 0),
      hello.subarray(HELLO_DEVICE_COUNT_AT + 2),
      hello.subarray(HELLO_DEVICE_COUNT_AT + 2),
    ),
  ),
);
expectDecodeError(
  ProtocolErrorCode.INVALID_ERROR_CODE,
  "lowercase code",
  rawFrame(FrameType.ERROR, [3, 0, 0x6f, 0x6f, 0x6d, 0, 0]),
);
expectDecodeError(
  ProtocolErrorCode.INVALID_ERROR_CODE,
  "empty code",
  rawFrame(FrameType.ERROR, [0, 0, 0, 0]),
);
expectDecodeError(
  ProtocolErrorCode.INVALID_FIELD,
  "WELCOME maxFrameBytes 16",
  rawFrame(2, [0x41, 0x57, 0x43, 0x48, 1, 0, 16, 0, 0, 0]),
);
expectDecodeError(
  ProtocolErrorCode.INVALID_FIELD,
  "WELCOME maxFrameBytes 1 MiB + 1",
  rawFrame(2, [0x41, 0x57, 0x43, 0x48, 1, 0, 1, 0, 16, 0]),
);
expectDecodeError(ProtocolErrorCode.TRUNCATED_FRAME, "stream ends inside a HELLO", hello.subarray(0, 50));
expectDecodeError(
  ProtocolErrorCode.FRAME_TOO_SHORT,
  "version 2 HELLO cut inside its resume secret",
  rawFrame(1, fromHex(HELLO_HEX).subarray(5, 5 + 1 + 4 + 2 + 16 + 8)),
);
expectDecodeError(
  ProtocolErrorCode.TRUNCATED_FRAME,
  "stream ends inside a length field",
  concat(encodeGoodbye(), Uint8Array.of(1)),
);

function stateError(side: "server" | "client", frames: Frame[]): string | undefined {
  const state = new ConnectionState(side);
  let error: ProtocolError | undefined;
  for (const frame of frames) error ??= state.accept(frame);
  return error?.code;
}
const HELLO: Frame = {
  type: 1,
  version: 1,
  sessionId: "0".repeat(32),
  pid: 1,
  processStartTicks: 0,
  processName: "",
  devices: [],
};
covered.add(ProtocolErrorCode.UNEXPECTED_FRAME);
test("PROTO_UNEXPECTED_FRAME: EVENTS before HELLO, second HELLO, WELCOME from a client", () => {
  const events: Frame = { type: 3, count: 0, records: new Uint8Array(0) };
  assert.equal(stateError("server", [events]), "PROTO_UNEXPECTED_FRAME");
  assert.equal(stateError("server", [HELLO, HELLO]), "PROTO_UNEXPECTED_FRAME");
  assert.equal(
    stateError("server", [HELLO, { type: 2, version: 1, maxFrameBytes: 4096 }]),
    "PROTO_UNEXPECTED_FRAME",
  );
  assert.equal(stateError("server", [HELLO, events]), undefined);
});
covered.add(ProtocolErrorCode.SNAPSHOT_MISMATCH);
test("PROTO_SNAPSHOT_MISMATCH: END with another watermark or too few allocations", () => {
  const begin: Frame = { type: 4, deviceId: 1, watermarkSeq: 5, totalAllocations: 1 };
  const chunk: Frame = {
    type: 5,
    deviceId: 1,
    allocations: [{ allocationId: 1, memoryType: 0, address: 0, sizeBytes: 8 }],
  };
  assert.equal(
    stateError("server", [HELLO, begin, chunk, { type: 6, deviceId: 1, watermarkSeq: 6 }]),
    "PROTO_SNAPSHOT_MISMATCH",
  );
  assert.equal(
    stateError("server", [HELLO, begin, { type: 6, deviceId: 1, watermarkSeq: 5 }]),
    "PROTO_SNAPSHOT_MISMATCH",
  );
  assert.equal(stateError("server", [HELLO, begin, chunk, chunk]), "PROTO_SNAPSHOT_MISMATCH");
  assert.equal(
    stateError("server", [HELLO, begin, chunk, { type: 6, deviceId: 1, watermarkSeq: 5 }]),
    undefined,
  );
});

expectThrown(
  ProtocolErrorCode.INVALID_VALUE,
  "decoder limit below the minimum",
  () => new FrameDecoder({ maxFrameBytes: 10 }),
);
expectThrown(
  ProtocolErrorCode.INVALID_VALUE,
  "decoder limit above the ceiling",
  () => new FrameDecoder({ maxFrameBytes: 2 << 20 }),
);
expectThrown(ProtocolErrorCode.INVALID_VALUE, "session id not hex", () =>
  encodeHello({ ...HELLO, sessionId: "x".repeat(32) } as never),
);
expectThrown(ProtocolErrorCode.INVALID_VALUE, "version 2 HELLO without a resume secret", () =>
  encodeHello({ ...HELLO, version: 2 } as never),
);
expectThrown(ProtocolErrorCode.INVALID_VALUE, "version 2 HELLO with a resume secret not hex", () =>
  encodeHello({ ...HELLO, version: 2, resumeSecret: "X".repeat(32) } as never),
);
expectThrown(ProtocolErrorCode.INVALID_VALUE, "version 1 HELLO with a resume secret", () =>
  encodeHello({ ...HELLO, resumeSecret: "0".repeat(32) } as never),
);
expectThrown(ProtocolErrorCode.INVALID_VALUE, "WELCOME limit 100", () =>
  encodeWelcome({ version: 1, maxFrameBytes: 100 }),
);
expectThrown(ProtocolErrorCode.INVALID_VALUE, "batch capacity 0", () => new EventBatchEncoder(0));
// Encoders refuse with the decoder's own code what the decoder would refuse.
expectThrown(ProtocolErrorCode.U64_OUT_OF_RANGE, "encoder: size 2^53", () =>
  encodeEvents([{ ...oneEvent, sizeBytes: 2 ** 53 }]),
);
expectThrown(ProtocolErrorCode.INVALID_SEQ, "encoder: seq 0", () => encodeEvents([{ ...oneEvent, seq: 0 }]));
expectThrown(ProtocolErrorCode.INVALID_OP, "encoder: op 5", () =>
  encodeEvents([{ ...oneEvent, op: 5 as never }]),
);
expectThrown(ProtocolErrorCode.INVALID_MEMORY_TYPE, "encoder: memory type 9", () =>
  encodeEvents([{ ...oneEvent, memoryType: 9 as never }]),
);
expectThrown(ProtocolErrorCode.INVALID_DEVICE_ID, "encoder: device 0xFFFF", () =>
  encodeSnapshotEnd({ deviceId: 0xffff, watermarkSeq: 1 }),
);
expectThrown(ProtocolErrorCode.STRING_TOO_LONG, "encoder: 300-byte process name", () =>
  encodeHello({ ...HELLO, processName: "a".repeat(300) } as never),
);
expectThrown(ProtocolErrorCode.INVALID_ERROR_CODE, "encoder: code with a space", () =>
  encodeError({ code: "BAD CODE", message: "" }),
);
expectThrown(ProtocolErrorCode.FRAME_TOO_LARGE, "encoder: snapshot chunk above 1 MiB", () =>
  encodeSnapshotChunk({
    deviceId: 0,
    allocations: new Array(40000).fill({ allocationId: 1, memoryType: 0, address: 0, sizeBytes: 1 }),
  }),
);
expectThrown(ProtocolErrorCode.DUPLICATE_DEVICE, "encoder: device twice", () => {
  const device = { deviceId: 3, name: "", architecture: "", capacityBytes: [0, 0, 0, 0, 0, 0, 0] };
  return encodeHello({ ...HELLO, devices: [device, device] } as never);
});
expectThrown(ProtocolErrorCode.TOO_MANY_DEVICES, "encoder: 257 devices", () =>
  encodeHello({
    ...HELLO,
    devices: Array.from({ length: 257 }, (_, deviceId) => ({
      deviceId,
      name: "",
      architecture: "",
      capacityBytes: [0, 0, 0, 0, 0, 0, 0],
    })),
  } as never),
);

covered.add(ProtocolErrorCode.DECODER_ABORTED);
test("PROTO_DECODER_ABORTED: a throwing callback propagates its own error, then the decoder stays failed", () => {
  const decoder = new FrameDecoder();
  const boom = new Error("boom");
  assert.throws(
    () =>
      decoder.feed(concat(encodeGoodbye(), encodeGoodbye()), () => {
        throw boom;
      }),
    (e: unknown) => e === boom,
  );
  assert.equal(decoder.error?.code, "PROTO_DECODER_ABORTED");
  assert.equal(
    decoder.feed(encodeGoodbye(), () => assert.fail("no frame after failure"))?.code,
    "PROTO_DECODER_ABORTED",
  );
});

test("after an error the decoder stays failed and returns the same error", () => {
  const decoder = new FrameDecoder();
  const first = decoder.feed(rawFrame(77), () => {});
  assert.equal(first?.code, "PROTO_UNKNOWN_FRAME_TYPE");
  assert.equal(
    decoder.feed(encodeSnapshotBegin({ deviceId: 0, watermarkSeq: 0, totalAllocations: 0 }), () =>
      assert.fail(),
    ),
    first,
  );
  assert.equal(decoder.end(), first);
  assert.equal(decoder.atFrameBoundary, false);
});

test("every ProtocolErrorCode has a test in this file", () => {
  assert.deepEqual([...covered].sort(), Object.values(ProtocolErrorCode).sort());
});
