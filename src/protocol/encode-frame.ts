import { ERROR_CODE_PATTERN } from "./decode-frame.js";
import { ProtocolError, ProtocolErrorCode } from "./errors.js";
import type { AllocationEvent, LiveAllocation } from "./event.js";
import { checkEvent, EventBatchEncoder } from "./event-batch-encoder.js";
import { validateEventRecord } from "./event-record.js";
import {
  ALL_DEVICES,
  type ContextFrame,
  DEFAULT_MAX_FRAME_BYTES,
  type ErrorFrame,
  type EventsFrame,
  type Frame,
  FrameType,
  type HelloFrame,
  PROTOCOL_MAGIC,
  type ResyncRequestFrame,
  type SnapshotBeginFrame,
  type SnapshotEndFrame,
  type WelcomeFrame,
} from "./frames.js";
import {
  EVENT_RECORD_BYTES,
  EVENTS_HEADER_BYTES,
  LENGTH_FIELD_BYTES,
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
import { isU16, isU32, isU64, writeU16, writeU32, writeU64 } from "./little-endian.js";
import { MEMORY_TYPE_COUNT } from "./memory-type.js";
import { encodeUtf8 } from "./utf8.js";

/*
 * One encoder per frame type. Each returns the complete frame (length field included) in a fresh
 * Uint8Array and throws ProtocolError, with the code the decoder would report, for any input the wire
 * cannot carry: whatever an encoder returns decodes to an equal frame. ERROR messages and RESYNC reasons
 * are truncated to their limits instead (a side that is closing a connection must not fail to say why).
 */

type Without<F, K extends keyof F> = Omit<F, K>;

/** 16 bytes as 32 lowercase hex characters: session ids and resume secrets. */
const HEX16_PATTERN = /^[0-9a-f]{32}$/;

class FrameWriter {
  readonly bytes: Uint8Array;
  private offset = LENGTH_FIELD_BYTES + 1;

  constructor(type: number, payloadBytes: number) {
    const length = 1 + payloadBytes;
    if (length > DEFAULT_MAX_FRAME_BYTES) {
      throw new ProtocolError(
        ProtocolErrorCode.FRAME_TOO_LARGE,
        `frame of ${length} bytes exceeds the ${DEFAULT_MAX_FRAME_BYTES}-byte ceiling`,
      );
    }
    this.bytes = new Uint8Array(LENGTH_FIELD_BYTES + length);
    writeU32(this.bytes, 0, length);
    this.bytes[LENGTH_FIELD_BYTES] = type;
  }

  u8(value: number): void {
    this.bytes[this.offset++] = value;
  }
  u16(value: number): void {
    writeU16(this.bytes, this.offset, value);
    this.offset += 2;
  }
  u32(value: number): void {
    writeU32(this.bytes, this.offset, value);
    this.offset += 4;
  }
  u64(value: number): void {
    writeU64(this.bytes, this.offset, value);
    this.offset += 8;
  }
  raw(bytes: Uint8Array): void {
    this.bytes.set(bytes, this.offset);
    this.offset += bytes.length;
  }
  /** u16 length + bytes. */
  string(utf8: Uint8Array): void {
    this.u16(utf8.length);
    this.raw(utf8);
  }
  done(): Uint8Array {
    if (this.offset !== this.bytes.length) {
      // A size computation above disagrees with what was written: a bug in this file.
      throw new ProtocolError(ProtocolErrorCode.INVALID_VALUE, "encoder size mismatch");
    }
    return this.bytes;
  }
}

function invalid(message: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.INVALID_VALUE, message);
}

function checkU16(value: number, field: string): void {
  if (!isU16(value)) throw invalid(`${field} ${value} is not an integer in [0, 65535]`);
}
function checkU32(value: number, field: string): void {
  if (!isU32(value)) throw invalid(`${field} ${value} is not an integer in [0, 2^32)`);
}
function checkU64(value: number, field: string): void {
  if (!isU64(value)) {
    throw new ProtocolError(
      ProtocolErrorCode.U64_OUT_OF_RANGE,
      `${field} ${value} is not an integer in [0, 2^53)`,
    );
  }
}
function checkDeviceId(deviceId: number, field: string, allowAll: boolean): void {
  if (!isU16(deviceId) || (deviceId === ALL_DEVICES && !allowAll)) {
    throw new ProtocolError(
      ProtocolErrorCode.INVALID_DEVICE_ID,
      `${field} ${deviceId} is not a device id in [0, 0x${(allowAll ? 0xffff : 0xfffe).toString(16)}]`,
    );
  }
}
function checkMemoryType(value: number, field: string): void {
  if (!(Number.isInteger(value) && value >= 0 && value < MEMORY_TYPE_COUNT)) {
    throw new ProtocolError(ProtocolErrorCode.INVALID_MEMORY_TYPE, `${field} ${value} is not a memory type`);
  }
}
function utf8Bounded(text: string, maxBytes: number, field: string): Uint8Array {
  const bytes = encodeUtf8(text);
  if (bytes.length > maxBytes) {
    throw new ProtocolError(
      ProtocolErrorCode.STRING_TOO_LONG,
      `${field} is ${bytes.length} UTF-8 bytes, limit ${maxBytes}`,
    );
  }
  return bytes;
}
/** UTF-8 of `text`, cut at a character boundary to at most `maxBytes`. */
function utf8Truncated(text: string, maxBytes: number): Uint8Array {
  const bytes = encodeUtf8(text);
  if (bytes.length <= maxBytes) return bytes;
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

export function encodeHello(frame: Without<HelloFrame, "type">): Uint8Array {
  checkU16(frame.version, "version");
  if (!HEX16_PATTERN.test(frame.sessionId)) {
    throw invalid(`sessionId must be 32 lowercase hex characters, got ${JSON.stringify(frame.sessionId)}`);
  }
  // Version 1 has no resume secret; every later version carries one (the layout is the version's).
  const secretBytes = frame.version === 1 ? 0 : RESUME_SECRET_BYTES;
  if (secretBytes === 0 && frame.resumeSecret !== undefined) {
    throw invalid("a version 1 HELLO has no resumeSecret: leave it out, or send version 2");
  }
  if (secretBytes !== 0 && !HEX16_PATTERN.test(frame.resumeSecret ?? "")) {
    throw invalid(
      `resumeSecret must be 32 lowercase hex characters in a version ${frame.version} HELLO, got ${JSON.stringify(frame.resumeSecret)}`,
    );
  }
  checkU32(frame.pid, "pid");
  checkU64(frame.processStartTicks, "processStartTicks");
  const processName = utf8Bounded(frame.processName, MAX_PROCESS_NAME_BYTES, "processName");
  if (frame.devices.length > MAX_DEVICES_PER_HELLO) {
    throw new ProtocolError(
      ProtocolErrorCode.TOO_MANY_DEVICES,
      `${frame.devices.length} devices, limit ${MAX_DEVICES_PER_HELLO}`,
    );
  }
  const seen = new Set<number>();
  const names: Uint8Array[] = [];
  const architectures: Uint8Array[] = [];
  let size = 4 + 2 + SESSION_ID_BYTES + secretBytes + 4 + 8 + 2 + processName.length + 2;
  for (const device of frame.devices) {
    checkDeviceId(device.deviceId, "deviceId", false);
    if (seen.has(device.deviceId)) {
      throw new ProtocolError(ProtocolErrorCode.DUPLICATE_DEVICE, `device ${device.deviceId} listed twice`);
    }
    seen.add(device.deviceId);
    const name = utf8Bounded(device.name, MAX_DEVICE_NAME_BYTES, `device ${device.deviceId} name`);
    const architecture = utf8Bounded(
      device.architecture,
      MAX_ARCHITECTURE_BYTES,
      `device ${device.deviceId} architecture`,
    );
    if (device.capacityBytes.length !== MEMORY_TYPE_COUNT) {
      throw invalid(
        `device ${device.deviceId} capacityBytes has ${device.capacityBytes.length} entries, need ${MEMORY_TYPE_COUNT}`,
      );
    }
    for (const capacity of device.capacityBytes) checkU64(capacity, `device ${device.deviceId} capacity`);
    names.push(name);
    architectures.push(architecture);
    size += 2 + 2 + name.length + 2 + architecture.length + 8 * MEMORY_TYPE_COUNT;
  }
  const w = new FrameWriter(FrameType.HELLO, size);
  w.u32(PROTOCOL_MAGIC);
  w.u16(frame.version);
  writeHex(w, frame.sessionId);
  if (secretBytes !== 0) writeHex(w, frame.resumeSecret!);
  w.u32(frame.pid);
  w.u64(frame.processStartTicks);
  w.string(processName);
  w.u16(frame.devices.length);
  frame.devices.forEach((device, d) => {
    w.u16(device.deviceId);
    w.string(names[d]);
    w.string(architectures[d]);
    for (const capacity of device.capacityBytes) w.u64(capacity);
  });
  return w.done();
}

/** 32 hex characters as 16 bytes (the pattern was checked by the caller). */
function writeHex(w: FrameWriter, hex: string): void {
  for (let i = 0; i < hex.length; i += 2) w.u8(Number.parseInt(hex.slice(i, i + 2), 16));
}

export function encodeWelcome(frame: Without<WelcomeFrame, "type">): Uint8Array {
  checkU16(frame.version, "version");
  if (
    !Number.isInteger(frame.maxFrameBytes) ||
    frame.maxFrameBytes < MIN_MAX_FRAME_BYTES ||
    frame.maxFrameBytes > DEFAULT_MAX_FRAME_BYTES
  ) {
    throw invalid(
      `maxFrameBytes ${frame.maxFrameBytes} outside [${MIN_MAX_FRAME_BYTES}, ${DEFAULT_MAX_FRAME_BYTES}]`,
    );
  }
  const w = new FrameWriter(FrameType.WELCOME, 10);
  w.u32(PROTOCOL_MAGIC);
  w.u16(frame.version);
  w.u32(frame.maxFrameBytes);
  return w.done();
}

/** An EVENTS frame from event objects (convenience; the hot path is EventBatchEncoder). */
export function encodeEvents(events: readonly AllocationEvent[]): Uint8Array {
  const batch = new EventBatchEncoder(Math.max(1, events.length));
  for (const e of events) {
    checkEvent(e.op, e.deviceId, e.memoryType, e.seq, e.allocationId, e.address, e.sizeBytes, e.timestampNs);
    batch.append(
      e.op,
      e.deviceId,
      e.memoryType,
      e.seq,
      e.allocationId,
      e.address,
      e.sizeBytes,
      e.timestampNs,
      e.contextId ?? 0,
    );
  }
  return batch.finish();
}

/**
 * An EVENTS frame from already-encoded records (e.g. a decoded frame being forwarded). `contexts`: the
 * records may carry context ids (a version 3 connection); default false, as versions 1 and 2.
 */
export function encodeEventsFrame(frame: Without<EventsFrame, "type">, contexts = false): Uint8Array {
  checkU32(frame.count, "count");
  if (frame.records.length !== frame.count * EVENT_RECORD_BYTES) {
    throw new ProtocolError(
      ProtocolErrorCode.LENGTH_MISMATCH,
      `count ${frame.count} needs ${frame.count * EVENT_RECORD_BYTES} record bytes, got ${frame.records.length}`,
    );
  }
  for (let i = 0; i < frame.count; i++) {
    const problem = validateEventRecord(frame.records, i, contexts);
    if (problem !== undefined) throw problem;
  }
  const w = new FrameWriter(FrameType.EVENTS, EVENTS_HEADER_BYTES - 1 + frame.records.length);
  w.u32(frame.count);
  w.raw(frame.records);
  return w.done();
}

export function encodeSnapshotBegin(frame: Without<SnapshotBeginFrame, "type">): Uint8Array {
  checkDeviceId(frame.deviceId, "deviceId", false);
  checkU64(frame.watermarkSeq, "watermarkSeq");
  checkU32(frame.totalAllocations, "totalAllocations");
  const w = new FrameWriter(FrameType.SNAPSHOT_BEGIN, 14);
  w.u16(frame.deviceId);
  w.u64(frame.watermarkSeq);
  w.u32(frame.totalAllocations);
  return w.done();
}

/** Throws PROTO_FRAME_TOO_LARGE past maxAllocationsPerChunk(DEFAULT_MAX_FRAME_BYTES) allocations. */
export function encodeSnapshotChunk(frame: {
  deviceId: number;
  allocations: readonly LiveAllocation[];
}): Uint8Array {
  checkDeviceId(frame.deviceId, "deviceId", false);
  for (const a of frame.allocations) {
    checkMemoryType(a.memoryType, "memoryType");
    checkU64(a.allocationId, "allocationId");
    checkU64(a.address, "address");
    checkU64(a.sizeBytes, "sizeBytes");
    if (a.contextId !== undefined) checkU32(a.contextId, "contextId");
  }
  const w = new FrameWriter(
    FrameType.SNAPSHOT_CHUNK,
    SNAPSHOT_CHUNK_HEADER_BYTES - 1 + frame.allocations.length * LIVE_ALLOCATION_RECORD_BYTES,
  );
  w.u16(frame.deviceId);
  w.u32(frame.allocations.length);
  for (const a of frame.allocations) {
    // Bytes 1..3 reserved; 4..7 the context id (version 3; 0 = none, what versions 1 and 2 require).
    w.u8(a.memoryType);
    for (let r = 0; r < 3; r++) w.u8(0);
    w.u32(a.contextId ?? 0);
    w.u64(a.allocationId);
    w.u64(a.address);
    w.u64(a.sizeBytes);
  }
  return w.done();
}

export function encodeSnapshotEnd(frame: Without<SnapshotEndFrame, "type">): Uint8Array {
  checkDeviceId(frame.deviceId, "deviceId", false);
  checkU64(frame.watermarkSeq, "watermarkSeq");
  const w = new FrameWriter(FrameType.SNAPSHOT_END, 10);
  w.u16(frame.deviceId);
  w.u64(frame.watermarkSeq);
  return w.done();
}

/** `reason` is truncated to MAX_RESYNC_REASON_BYTES. */
export function encodeResyncRequest(frame: Without<ResyncRequestFrame, "type">): Uint8Array {
  checkDeviceId(frame.deviceId, "deviceId", true);
  const reason = utf8Truncated(frame.reason, MAX_RESYNC_REASON_BYTES);
  const w = new FrameWriter(FrameType.RESYNC_REQUEST, 2 + 2 + reason.length);
  w.u16(frame.deviceId);
  w.string(reason);
  return w.done();
}

/** `message` is truncated to MAX_ERROR_MESSAGE_BYTES; `code` must match [A-Z][A-Z0-9_]*, <= 64 bytes. */
export function encodeError(frame: Without<ErrorFrame, "type">): Uint8Array {
  if (!ERROR_CODE_PATTERN.test(frame.code) || frame.code.length > MAX_ERROR_CODE_BYTES) {
    throw new ProtocolError(
      ProtocolErrorCode.INVALID_ERROR_CODE,
      `error code ${JSON.stringify(frame.code)} is not [A-Z][A-Z0-9_]* of at most ${MAX_ERROR_CODE_BYTES} bytes`,
    );
  }
  const code = encodeUtf8(frame.code);
  const message = utf8Truncated(frame.message, MAX_ERROR_MESSAGE_BYTES);
  const w = new FrameWriter(FrameType.ERROR, 2 + code.length + 2 + message.length);
  w.string(code);
  w.string(message);
  return w.done();
}

export function encodeGoodbye(): Uint8Array {
  return new FrameWriter(FrameType.GOODBYE, 0).done();
}

/** Version 3: defines context `contextId` (1 ..= 2^32 − 1) as `text` (at most MAX_CONTEXT_BYTES of UTF-8). */
export function encodeContext(frame: Without<ContextFrame, "type">): Uint8Array {
  checkU32(frame.contextId, "contextId");
  if (frame.contextId === 0) {
    throw new ProtocolError(
      ProtocolErrorCode.INVALID_FIELD,
      "context id 0 means no context and cannot be defined",
    );
  }
  const text = utf8Bounded(frame.text, MAX_CONTEXT_BYTES, "context text");
  const w = new FrameWriter(FrameType.CONTEXT, 4 + 2 + text.length);
  w.u32(frame.contextId);
  w.string(text);
  return w.done();
}

/** Encodes any decoded frame (dispatches to the encoder of its type). */
export function encodeFrame(frame: Frame): Uint8Array {
  switch (frame.type) {
    case FrameType.HELLO:
      return encodeHello(frame);
    case FrameType.WELCOME:
      return encodeWelcome(frame);
    case FrameType.EVENTS:
      return encodeEventsFrame(frame, true);
    case FrameType.SNAPSHOT_BEGIN:
      return encodeSnapshotBegin(frame);
    case FrameType.SNAPSHOT_CHUNK:
      return encodeSnapshotChunk(frame);
    case FrameType.SNAPSHOT_END:
      return encodeSnapshotEnd(frame);
    case FrameType.RESYNC_REQUEST:
      return encodeResyncRequest(frame);
    case FrameType.ERROR:
      return encodeError(frame);
    case FrameType.GOODBYE:
      return encodeGoodbye();
    case FrameType.CONTEXT:
      return encodeContext(frame);
    default:
      throw invalid(`unknown frame type ${(frame as { type: unknown }).type}`);
  }
}
