// Hand-written wire bytes (not produced by our encoder) with the frames or error they must decode to.
// The HELLO (version 2) and EVENTS examples are the worked examples of docs/PROTOCOL.md.
import { FrameType } from "../../src/protocol/frames.js";
import { goldenHex } from "./golden-frames.js";
import { fromHex, hex, type PlainFrame } from "./wire-fixtures.js";

export interface GoldenVector {
  name: string;
  bytes: Uint8Array;
  frames: PlainFrame[];
  /** Error code the stream ends with, or undefined for a clean stream. */
  code: string | undefined;
}

export const HELLO_HEX = goldenHex("hello");

export const HELLO_FRAME: PlainFrame = {
  type: FrameType.HELLO,
  version: 2,
  sessionId: "00112233445566778899aabbccddeeff",
  resumeSecret: "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
  pid: 1234,
  processStartTicks: 5678,
  processName: "python3",
  devices: [
    {
      deviceId: 0,
      name: "n150",
      architecture: "wormhole_b0",
      capacityBytes: [12884901888, 1499136, 0, 65536, 0, 0, 0],
    },
  ],
};

/** The same HELLO in protocol version 1: no resume secret (still decoded and, with conditions, accepted). */
export const HELLO_V1_HEX = goldenHex("hello-v1");

export const HELLO_V1_FRAME: PlainFrame = {
  type: FrameType.HELLO,
  version: 1,
  sessionId: "00112233445566778899aabbccddeeff",
  pid: 1234,
  processStartTicks: 5678,
  processName: "python3",
  devices: [
    {
      deviceId: 0,
      name: "n150",
      architecture: "wormhole_b0",
      capacityBytes: [12884901888, 1499136, 0, 65536, 0, 0, 0],
    },
  ],
};

export const EVENTS_HEX = goldenHex("events");
/** The two 48-byte records of EVENTS_HEX (after its 9-byte header). */
const EVENT_RECORDS = fromHex(EVENTS_HEX).subarray(9);
const EVENT_1 = hex(EVENT_RECORDS.subarray(0, 48));
const EVENT_2 = hex(EVENT_RECORDS.subarray(48));

const EVENTS_FRAME: PlainFrame = {
  type: FrameType.EVENTS,
  count: 2,
  records: EVENT_1 + EVENT_2,
};

const WELCOME_HEX = "0b000000 02 41574348 0200 00001000"; // version 2, maxFrameBytes 1 MiB
const WELCOME_V1_HEX = "0b000000 02 41574348 0100 00001000"; // the answer to a version 1 HELLO
const SNAPSHOT_HEX = goldenHex("snapshot");
const RESYNC_HEX = "0a000000 07 ffff 0500 676170203f"; // all devices, "gap ?"
const ERROR_HEX = "0a000000 08 0300 4f4f4d 0200 6869"; // code "OOM", message "hi"
const GOODBYE_HEX = goldenHex("goodbye");

// Version 3 (allocation contexts): the same HELLO with version 3, a CONTEXT frame, an ALLOC citing it.
export const HELLO_V3_HEX = HELLO_HEX.replace(
  '41574348                          # magic "AWCH"\n0200',
  "41574348 0300",
);
const HELLO_V3_FRAME: PlainFrame = { ...HELLO_FRAME, version: 3 };
export const CONTEXT_HEX = goldenHex("context");
const CONTEXT_FRAME: PlainFrame = { type: FrameType.CONTEXT, contextId: 1, text: "ttnn.matmul" };
const EVENTS_V3_HEX = goldenHex("events-v3");
const EVENTS_V3_FRAME: PlainFrame = {
  type: FrameType.EVENTS,
  count: 2,
  records: hex(fromHex(EVENTS_V3_HEX).subarray(9)),
};
const SNAPSHOT_V3_HEX = goldenHex("snapshot-v3");
const SNAPSHOT_V3_FRAMES: PlainFrame[] = [
  { type: FrameType.SNAPSHOT_BEGIN, deviceId: 3, watermarkSeq: 9, totalAllocations: 1 },
  {
    type: FrameType.SNAPSHOT_CHUNK,
    deviceId: 3,
    allocations: [{ allocationId: 7, memoryType: 1, address: 0x200000, sizeBytes: 1024, contextId: 1 }],
  },
  { type: FrameType.SNAPSHOT_END, deviceId: 3, watermarkSeq: 9 },
];

function v(name: string, text: string, frames: PlainFrame[], code?: string): GoldenVector {
  return { name, bytes: fromHex(text), frames, code };
}

export const GOLDEN_VECTORS: GoldenVector[] = [
  v("empty stream", "", []),
  v("HELLO", HELLO_HEX, [HELLO_FRAME]),
  v("HELLO version 1", HELLO_V1_HEX, [HELLO_V1_FRAME]),
  v("EVENTS", EVENTS_HEX, [EVENTS_FRAME]),
  v("EVENTS with zero records", "05000000 03 00000000", [{ type: FrameType.EVENTS, count: 0, records: "" }]),
  v("WELCOME", WELCOME_HEX, [{ type: FrameType.WELCOME, version: 2, maxFrameBytes: 1 << 20 }]),
  v("WELCOME version 1", WELCOME_V1_HEX, [{ type: FrameType.WELCOME, version: 1, maxFrameBytes: 1 << 20 }]),
  v("snapshot begin, chunk, end", SNAPSHOT_HEX, [
    { type: FrameType.SNAPSHOT_BEGIN, deviceId: 3, watermarkSeq: 9, totalAllocations: 1 },
    {
      type: FrameType.SNAPSHOT_CHUNK,
      deviceId: 3,
      allocations: [{ allocationId: 7, memoryType: 1, address: 0x200000, sizeBytes: 1024 }],
    },
    { type: FrameType.SNAPSHOT_END, deviceId: 3, watermarkSeq: 9 },
  ]),
  v("RESYNC_REQUEST", RESYNC_HEX, [{ type: FrameType.RESYNC_REQUEST, deviceId: 0xffff, reason: "gap ?" }]),
  v("ERROR", ERROR_HEX, [{ type: FrameType.ERROR, code: "OOM", message: "hi" }]),
  v("GOODBYE", GOODBYE_HEX, [{ type: FrameType.GOODBYE }]),
  v("a whole conversation", HELLO_HEX + EVENTS_HEX + SNAPSHOT_HEX + GOODBYE_HEX, [
    HELLO_FRAME,
    EVENTS_FRAME,
    { type: FrameType.SNAPSHOT_BEGIN, deviceId: 3, watermarkSeq: 9, totalAllocations: 1 },
    {
      type: FrameType.SNAPSHOT_CHUNK,
      deviceId: 3,
      allocations: [{ allocationId: 7, memoryType: 1, address: 0x200000, sizeBytes: 1024 }],
    },
    { type: FrameType.SNAPSHOT_END, deviceId: 3, watermarkSeq: 9 },
    { type: FrameType.GOODBYE },
  ]),
  v(
    "frames then an unknown type",
    GOODBYE_HEX + "01000000 63",
    [{ type: FrameType.GOODBYE }],
    "PROTO_UNKNOWN_FRAME_TYPE",
  ),
  v("oversized length", "01001000 03", [], "PROTO_FRAME_TOO_LARGE"),
  v("zero length", "00000000", [], "PROTO_EMPTY_FRAME"),
  v(
    "truncated in the length field",
    GOODBYE_HEX + "0100",
    [{ type: FrameType.GOODBYE }],
    "PROTO_TRUNCATED_FRAME",
  ),
  v("truncated in the body", EVENTS_HEX.slice(0, 200), [], "PROTO_TRUNCATED_FRAME"),
  v("wrong magic", HELLO_HEX.replace("41574348", "41574349"), [], "PROTO_BAD_MAGIC"),
  v(
    "version 4",
    HELLO_HEX.replace('41574348                          # magic "AWCH"\n0200', "41574348 0400"),
    [],
    "PROTO_UNSUPPORTED_VERSION",
  ),
  v(
    // The secret takes pid .. "py", so the start ticks are read from "3", the device count and id...
    "version 2 in the version 1 layout (no resume secret)",
    HELLO_V1_HEX.replace('41574348                          # magic "AWCH"\n0100', "41574348 0200"),
    [],
    "PROTO_U64_OUT_OF_RANGE",
  ),
  v(
    "EVENTS count disagrees with length",
    "65000000 03 03000000" + EVENT_1 + EVENT_2,
    [],
    "PROTO_LENGTH_MISMATCH",
  ),
  v("GOODBYE with a payload", "02000000 09 00", [], "PROTO_LENGTH_MISMATCH"),
  v(
    "version 3: HELLO, CONTEXT, an ALLOC in it, a snapshot entry in it",
    HELLO_V3_HEX + CONTEXT_HEX + EVENTS_V3_HEX + SNAPSHOT_V3_HEX + GOODBYE_HEX,
    [HELLO_V3_FRAME, CONTEXT_FRAME, EVENTS_V3_FRAME, ...SNAPSHOT_V3_FRAMES, { type: FrameType.GOODBYE }],
  ),
  v("WELCOME version 3", "0b000000 02 41574348 0300 00001000", [
    { type: FrameType.WELCOME, version: 3, maxFrameBytes: 1 << 20 },
  ]),
  // Versions 1 and 2 know no contexts: the frame type is unknown, the record bytes reserved.
  v("CONTEXT on a version 2 stream", HELLO_HEX + CONTEXT_HEX, [HELLO_FRAME], "PROTO_UNKNOWN_FRAME_TYPE"),
  v("CONTEXT before any HELLO", CONTEXT_HEX, [], "PROTO_UNKNOWN_FRAME_TYPE"),
  v(
    "a context id on a version 2 stream",
    HELLO_HEX + EVENTS_V3_HEX,
    [HELLO_FRAME],
    "PROTO_RESERVED_NOT_ZERO",
  ),
  v(
    "a snapshot entry's context on a version 2 stream",
    HELLO_HEX + SNAPSHOT_V3_HEX,
    [HELLO_FRAME, SNAPSHOT_V3_FRAMES[0]],
    "PROTO_RESERVED_NOT_ZERO",
  ),
  v(
    "version 3: a FREE with a context id",
    `${HELLO_V3_HEX} 65000000 03 02000000 ${EVENT_1} ${EVENT_2.replace(/^0200000000000000/, "0200000001000000")}`,
    [HELLO_V3_FRAME],
    "PROTO_RESERVED_NOT_ZERO",
  ),
  v(
    "version 3: CONTEXT id 0",
    `${HELLO_V3_HEX} 07000000 0a 00000000 0000`,
    [HELLO_V3_FRAME],
    "PROTO_INVALID_FIELD",
  ),
  v(
    "version 3: CONTEXT text of 257 bytes",
    `${HELLO_V3_HEX} 07000000 0a 01000000 0101`,
    [HELLO_V3_FRAME],
    "PROTO_STRING_TOO_LONG",
  ),
  v(
    "version 3: CONTEXT text not UTF-8",
    `${HELLO_V3_HEX} 09000000 0a 01000000 0200 c328`,
    [HELLO_V3_FRAME],
    "PROTO_BAD_UTF8",
  ),
  v(
    "version 3: CONTEXT cut short",
    `${HELLO_V3_HEX} 04000000 0a 010000`,
    [HELLO_V3_FRAME],
    "PROTO_FRAME_TOO_SHORT",
  ),
  v(
    "version 3: CONTEXT with a trailing byte",
    `${HELLO_V3_HEX} 08000000 0a 01000000 0000 00`,
    [HELLO_V3_FRAME],
    "PROTO_LENGTH_MISMATCH",
  ),
];
