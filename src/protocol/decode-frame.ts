import { ProtocolError, ProtocolErrorCode } from "./errors.js";
import type { LiveAllocation } from "./event.js";
import { eventRecordsView, validateEventRecords } from "./event-record.js";
import {
  ALL_DEVICES,
  type ContextFrame,
  DEFAULT_MAX_FRAME_BYTES,
  type DeviceDescriptor,
  type Frame,
  FrameType,
  type HelloFrame,
  PROTOCOL_MAGIC,
  SUPPORTED_PROTOCOL_VERSIONS,
} from "./frames.js";
import {
  EVENT_RECORD_BYTES,
  EVENTS_HEADER_BYTES,
  LIVE_ALLOCATION_RECORD_BYTES,
  MAX_ARCHITECTURE_BYTES,
  MAX_CONTEXT_BYTES,
  MAX_DEVICE_NAME_BYTES,
  MAX_DEVICES_PER_HELLO,
  MAX_ERROR_CODE_BYTES,
  MAX_ERROR_MESSAGE_BYTES,
  MAX_PROCESS_NAME_BYTES,
  MAX_RESYNC_REASON_BYTES,
  MIN_MAX_FRAME_BYTES,
  RESUME_SECRET_BYTES,
  SESSION_ID_BYTES,
  SNAPSHOT_CHUNK_HEADER_BYTES,
} from "./layout.js";
import { readU32 } from "./little-endian.js";
import { MEMORY_TYPE_COUNT, type MemoryType } from "./memory-type.js";
import { PayloadReader } from "./payload-reader.js";

/** Valid ERROR codes look like our own: PROTO_FRAME_TOO_LARGE, SERVER_SHUTTING_DOWN... */
export const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]*$/;

const HEX = "0123456789abcdef";

/**
 * Decodes one frame body: the bytes after the length field (type byte first). Returns the frame or
 * the first problem found; never throws. An EVENTS frame's `records` is a view into `body`.
 * `contexts`: the stream's version carries allocation contexts (version 3: CONTEXT frames, context ids in
 * ALLOC records and snapshot entries); without it those bytes must be 0 and type 10 is unknown.
 */
export function decodeFrameBody(body: Uint8Array, contexts = false): Frame | ProtocolError {
  if (body.length === 0) {
    return new ProtocolError(ProtocolErrorCode.EMPTY_FRAME, "frame length 0: a frame needs its type byte");
  }
  try {
    switch (body[0]) {
      case FrameType.EVENTS:
        return decodeEvents(body, contexts);
      case FrameType.HELLO:
        return decodeHello(body);
      case FrameType.WELCOME:
        return decodeWelcome(body);
      case FrameType.SNAPSHOT_BEGIN:
        return decodeSnapshotBegin(body);
      case FrameType.SNAPSHOT_CHUNK:
        return decodeSnapshotChunk(body, contexts);
      case FrameType.SNAPSHOT_END:
        return decodeSnapshotEnd(body);
      case FrameType.RESYNC_REQUEST:
        return decodeResyncRequest(body);
      case FrameType.ERROR:
        return decodeError(body);
      case FrameType.GOODBYE:
        return decodeGoodbye(body);
      case FrameType.CONTEXT:
        if (contexts) return decodeContext(body);
        return new ProtocolError(
          ProtocolErrorCode.UNKNOWN_FRAME_TYPE,
          `frame type ${body[0]} (CONTEXT) needs protocol version 3`,
        );
      default:
        return new ProtocolError(ProtocolErrorCode.UNKNOWN_FRAME_TYPE, `unknown frame type ${body[0]}`);
    }
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    // Unreachable by design; kept so that no non-protocol exception can ever leave the decoder.
    return new ProtocolError(ProtocolErrorCode.INVALID_FIELD, `internal decoder failure: ${String(error)}`);
  }
}

function decodeEvents(body: Uint8Array, contexts: boolean): Frame {
  if (body.length < EVENTS_HEADER_BYTES) {
    throw new ProtocolError(
      ProtocolErrorCode.FRAME_TOO_SHORT,
      `EVENTS: length ${body.length} is below the ${EVENTS_HEADER_BYTES}-byte header`,
    );
  }
  const count = readU32(body, 1);
  const recordBytes = body.length - EVENTS_HEADER_BYTES;
  if (recordBytes !== count * EVENT_RECORD_BYTES) {
    throw new ProtocolError(
      ProtocolErrorCode.LENGTH_MISMATCH,
      `EVENTS: count ${count} needs ${count * EVENT_RECORD_BYTES} record bytes, frame has ${recordBytes}`,
    );
  }
  // A view, not a copy: the records stay in the socket chunk (or the decoder's assembly buffer).
  const records = body.subarray(EVENTS_HEADER_BYTES);
  const problem = validateEventRecords(records, eventRecordsView(records), count, contexts);
  if (problem !== undefined) throw problem;
  return { type: FrameType.EVENTS, count, records };
}

function checkMagicAndVersion(reader: PayloadReader, frameName: string): number {
  const magic = reader.u32("magic");
  if (magic !== PROTOCOL_MAGIC) {
    throw new ProtocolError(
      ProtocolErrorCode.BAD_MAGIC,
      `${frameName}: magic 0x${magic.toString(16).padStart(8, "0")}, expected 0x${PROTOCOL_MAGIC.toString(16)}`,
    );
  }
  // Checked before any other field: a future version may lay out the rest differently.
  const version = reader.u16("version");
  if (!SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
    throw new ProtocolError(
      ProtocolErrorCode.UNSUPPORTED_VERSION,
      `${frameName}: protocol version ${version}, this side speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")}`,
    );
  }
  return version;
}

function deviceIdField(reader: PayloadReader, frameName: string, allowAll: boolean): number {
  const deviceId = reader.u16("deviceId");
  if (deviceId === ALL_DEVICES && !allowAll) {
    throw new ProtocolError(
      ProtocolErrorCode.INVALID_DEVICE_ID,
      `${frameName}: device id 0xFFFF is reserved`,
    );
  }
  return deviceId;
}

function decodeHello(body: Uint8Array): Frame {
  const reader = new PayloadReader(body, 1, "HELLO");
  const version = checkMagicAndVersion(reader, "HELLO");
  const sessionId = hexOf(reader.bytesView(SESSION_ID_BYTES, "sessionId"));
  // Version 1 has no resume secret; every later version has it right after the session id.
  const resumeSecret =
    version === 1 ? undefined : hexOf(reader.bytesView(RESUME_SECRET_BYTES, "resumeSecret"));
  const pid = reader.u32("pid");
  const processStartTicks = reader.u64("processStartTicks");
  const processName = reader.string(MAX_PROCESS_NAME_BYTES, "processName");
  const deviceCount = reader.u16("deviceCount");
  if (deviceCount > MAX_DEVICES_PER_HELLO) {
    throw new ProtocolError(
      ProtocolErrorCode.TOO_MANY_DEVICES,
      `HELLO: ${deviceCount} devices, limit ${MAX_DEVICES_PER_HELLO}`,
    );
  }
  const devices: DeviceDescriptor[] = [];
  for (let d = 0; d < deviceCount; d++) {
    const deviceId = deviceIdField(reader, "HELLO", false);
    for (const seen of devices) {
      if (seen.deviceId === deviceId) {
        throw new ProtocolError(ProtocolErrorCode.DUPLICATE_DEVICE, `HELLO: device ${deviceId} listed twice`);
      }
    }
    const name = reader.string(MAX_DEVICE_NAME_BYTES, `device ${deviceId} name`);
    const architecture = reader.string(MAX_ARCHITECTURE_BYTES, `device ${deviceId} architecture`);
    const capacityBytes: number[] = [];
    for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
      capacityBytes.push(reader.u64(`device ${deviceId} capacity[${t}]`));
    }
    devices.push({ deviceId, name, architecture, capacityBytes });
  }
  reader.end();
  const hello: HelloFrame = {
    type: FrameType.HELLO,
    version,
    sessionId,
    pid,
    processStartTicks,
    processName,
    devices,
  };
  if (resumeSecret !== undefined) hello.resumeSecret = resumeSecret;
  return hello;
}

function hexOf(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
  return text;
}

function decodeWelcome(body: Uint8Array): Frame {
  const reader = new PayloadReader(body, 1, "WELCOME");
  const version = checkMagicAndVersion(reader, "WELCOME");
  const maxFrameBytes = reader.u32("maxFrameBytes");
  if (maxFrameBytes < MIN_MAX_FRAME_BYTES || maxFrameBytes > DEFAULT_MAX_FRAME_BYTES) {
    throw new ProtocolError(
      ProtocolErrorCode.INVALID_FIELD,
      `WELCOME: maxFrameBytes ${maxFrameBytes} outside [${MIN_MAX_FRAME_BYTES}, ${DEFAULT_MAX_FRAME_BYTES}]`,
    );
  }
  reader.end();
  return { type: FrameType.WELCOME, version, maxFrameBytes };
}

function decodeSnapshotBegin(body: Uint8Array): Frame {
  const reader = new PayloadReader(body, 1, "SNAPSHOT_BEGIN");
  const deviceId = deviceIdField(reader, "SNAPSHOT_BEGIN", false);
  const watermarkSeq = reader.u64("watermarkSeq");
  const totalAllocations = reader.u32("totalAllocations");
  reader.end();
  return { type: FrameType.SNAPSHOT_BEGIN, deviceId, watermarkSeq, totalAllocations };
}

function decodeSnapshotChunk(body: Uint8Array, contexts: boolean): Frame {
  const reader = new PayloadReader(body, 1, "SNAPSHOT_CHUNK");
  const deviceId = deviceIdField(reader, "SNAPSHOT_CHUNK", false);
  const count = reader.u32("count");
  const recordBytes = body.length - SNAPSHOT_CHUNK_HEADER_BYTES;
  if (recordBytes !== count * LIVE_ALLOCATION_RECORD_BYTES) {
    throw new ProtocolError(
      ProtocolErrorCode.LENGTH_MISMATCH,
      `SNAPSHOT_CHUNK: count ${count} needs ${count * LIVE_ALLOCATION_RECORD_BYTES} record bytes, frame has ${recordBytes}`,
    );
  }
  const allocations: LiveAllocation[] = [];
  for (let i = 0; i < count; i++) {
    const memoryType = reader.u8("memoryType");
    if (memoryType >= MEMORY_TYPE_COUNT) {
      throw new ProtocolError(
        ProtocolErrorCode.INVALID_MEMORY_TYPE,
        `SNAPSHOT_CHUNK record ${i}: memory type ${memoryType} is not below ${MEMORY_TYPE_COUNT}`,
      );
    }
    // Version 3: bytes 4..7 are the entry's context id; before it, all of 1..7 are reserved.
    const reservedBytes = contexts ? 3 : 7;
    const reserved = reader.bytesView(reservedBytes, "reserved");
    for (let r = 0; r < reservedBytes; r++) {
      if (reserved[r] !== 0) {
        throw new ProtocolError(
          ProtocolErrorCode.RESERVED_NOT_ZERO,
          `SNAPSHOT_CHUNK record ${i}: reserved bytes 1..${reservedBytes} must be 0`,
        );
      }
    }
    const contextId = contexts ? reader.u32("contextId") : 0;
    const allocationId = reader.u64("allocationId");
    const address = reader.u64("address");
    const sizeBytes = reader.u64("sizeBytes");
    const allocation: LiveAllocation = {
      allocationId,
      memoryType: memoryType as MemoryType,
      address,
      sizeBytes,
    };
    if (contextId !== 0) allocation.contextId = contextId;
    allocations.push(allocation);
  }
  reader.end();
  return { type: FrameType.SNAPSHOT_CHUNK, deviceId, allocations };
}

function decodeSnapshotEnd(body: Uint8Array): Frame {
  const reader = new PayloadReader(body, 1, "SNAPSHOT_END");
  const deviceId = deviceIdField(reader, "SNAPSHOT_END", false);
  const watermarkSeq = reader.u64("watermarkSeq");
  reader.end();
  return { type: FrameType.SNAPSHOT_END, deviceId, watermarkSeq };
}

function decodeResyncRequest(body: Uint8Array): Frame {
  const reader = new PayloadReader(body, 1, "RESYNC_REQUEST");
  const deviceId = deviceIdField(reader, "RESYNC_REQUEST", true);
  const reason = reader.string(MAX_RESYNC_REASON_BYTES, "reason");
  reader.end();
  return { type: FrameType.RESYNC_REQUEST, deviceId, reason };
}

function decodeError(body: Uint8Array): Frame {
  const reader = new PayloadReader(body, 1, "ERROR");
  const code = reader.string(MAX_ERROR_CODE_BYTES, "code");
  if (!ERROR_CODE_PATTERN.test(code)) {
    throw new ProtocolError(
      ProtocolErrorCode.INVALID_ERROR_CODE,
      `ERROR: code ${JSON.stringify(code)} is not [A-Z][A-Z0-9_]*`,
    );
  }
  const message = reader.string(MAX_ERROR_MESSAGE_BYTES, "message");
  reader.end();
  return { type: FrameType.ERROR, code, message };
}

function decodeContext(body: Uint8Array): Frame {
  const reader = new PayloadReader(body, 1, "CONTEXT");
  const contextId = reader.u32("contextId");
  if (contextId === 0) {
    throw new ProtocolError(
      ProtocolErrorCode.INVALID_FIELD,
      "CONTEXT: context id 0 means no context and cannot be defined",
    );
  }
  const text = reader.string(MAX_CONTEXT_BYTES, "text");
  reader.end();
  const frame: ContextFrame = { type: FrameType.CONTEXT, contextId, text };
  return frame;
}

function decodeGoodbye(body: Uint8Array): Frame {
  new PayloadReader(body, 1, "GOODBYE").end();
  return { type: FrameType.GOODBYE };
}
