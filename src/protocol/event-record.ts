import { ProtocolError, ProtocolErrorCode } from "./errors.js";
import type { AllocationEvent } from "./event.js";
import { ALL_DEVICES } from "./frames.js";
import { EVENT_RECORD_BYTES } from "./layout.js";
import { readU16, readU32, readU64 } from "./little-endian.js";
import { MEMORY_TYPE_COUNT } from "./memory-type.js";

/*
 * One EVENTS record, 48 bytes, little-endian (offsets within the record):
 *   0 op u8 · 1 memoryType u8 · 2 deviceId u16 · 4 contextId u32 (versions 1 and 2: reserved, 0)
 *   8 seq u64 · 16 allocationId u64 · 24 address u64 · 32 sizeBytes u64 · 40 timestampNs u64
 */
export const EventRecordOffset = {
  OP: 0,
  MEMORY_TYPE: 1,
  DEVICE_ID: 2,
  /** Version 3: the ALLOC's context id (0 = none; a FREE carries 0). Versions 1 and 2: reserved (0). */
  CONTEXT_ID: 4,
  SEQ: 8,
  ALLOCATION_ID: 16,
  ADDRESS: 24,
  SIZE_BYTES: 32,
  TIMESTAMP_NS: 40,
} as const;

// Private copies of the offsets for the hot readers: V8 folds a module-local constant, but re-reads a
// property of an exported object at every use (event-batch-encoder.ts keeps the same copies, on purpose).
const OP = EventRecordOffset.OP;
const MEMORY_TYPE = EventRecordOffset.MEMORY_TYPE;
const DEVICE_ID = EventRecordOffset.DEVICE_ID;
const RESERVED = EventRecordOffset.CONTEXT_ID;
const SEQ = EventRecordOffset.SEQ;
const ALLOCATION_ID = EventRecordOffset.ALLOCATION_ID;
const ADDRESS = EventRecordOffset.ADDRESS;
const SIZE_BYTES = EventRecordOffset.SIZE_BYTES;
const TIMESTAMP_NS = EventRecordOffset.TIMESTAMP_NS;
/** A u64 travels as two little-endian u32 words; the high word is 4 bytes after the low one. */
const HIGH_WORD = 4;

const U64_FIELDS = ["seq", "allocationId", "address", "sizeBytes", "timestampNs"] as const;

/**
 * Fills `out` with record `index` of an EVENTS frame's `records` and returns it. No allocation: the
 * server reuses one object for a whole batch. The decoder has validated every record already, so this
 * does no checks; do not call it on bytes that did not come out of a FrameDecoder.
 */
export function readEventRecord(records: Uint8Array, index: number, out: AllocationEvent): AllocationEvent {
  const o = index * EVENT_RECORD_BYTES;
  out.op = records[o + OP] as AllocationEvent["op"];
  out.memoryType = records[o + MEMORY_TYPE] as AllocationEvent["memoryType"];
  out.deviceId = readU16(records, o + DEVICE_ID);
  out.seq = readU64(records, o + SEQ);
  out.allocationId = readU64(records, o + ALLOCATION_ID);
  out.address = readU64(records, o + ADDRESS);
  out.sizeBytes = readU64(records, o + SIZE_BYTES);
  out.timestampNs = readU64(records, o + TIMESTAMP_NS);
  return out;
}

const TWO_POW_32 = 4294967296;

/*
 * Allocation-free field access for the server's hot loop: one DataView per frame (records are at any
 * byte offset of a socket chunk, and DataView reads unaligned little-endian words in one load, about
 * twice as fast as assembling bytes), then plain reads by record byte offset (index × EVENT_RECORD_BYTES).
 * A u64 is read as two u32 words; the decoder has checked that every high word is < 2^21, so the sum
 * is exact. Only for records that came out of a FrameDecoder.
 */

/** A DataView over an EVENTS frame's `records`, for the event* readers below. */
export function eventRecordsView(records: Uint8Array): DataView {
  return new DataView(records.buffer, records.byteOffset, records.byteLength);
}

export function eventOp(view: DataView, offset: number): number {
  return view.getUint8(offset + OP);
}

export function eventMemoryType(view: DataView, offset: number): number {
  return view.getUint8(offset + MEMORY_TYPE);
}

export function eventDeviceId(view: DataView, offset: number): number {
  return view.getUint16(offset + DEVICE_ID, true);
}

/** Version 3: the record's context id (0 = none). */
export function eventContextId(view: DataView, offset: number): number {
  return view.getUint32(offset + RESERVED, true);
}

export function eventSeq(view: DataView, offset: number): number {
  return view.getUint32(offset + SEQ + HIGH_WORD, true) * TWO_POW_32 + view.getUint32(offset + SEQ, true);
}

export function eventAllocationId(view: DataView, offset: number): number {
  return (
    view.getUint32(offset + ALLOCATION_ID + HIGH_WORD, true) * TWO_POW_32 +
    view.getUint32(offset + ALLOCATION_ID, true)
  );
}

export function eventAddress(view: DataView, offset: number): number {
  return (
    view.getUint32(offset + ADDRESS + HIGH_WORD, true) * TWO_POW_32 + view.getUint32(offset + ADDRESS, true)
  );
}

export function eventSizeBytes(view: DataView, offset: number): number {
  return (
    view.getUint32(offset + SIZE_BYTES + HIGH_WORD, true) * TWO_POW_32 +
    view.getUint32(offset + SIZE_BYTES, true)
  );
}

/** A u64 is < 2^53 exactly when its high 32-bit word is < 2^21. */
const U64_HIGH_WORD_SHIFT = 21;

/**
 * Checks the records [0, count) of an EVENTS frame, `view` being eventRecordsView(records). One pass
 * of word reads and bit tests per record; the first record that fails is re-checked by
 * validateEventRecord for the exact error. Undefined when every record is valid. `contexts`: the
 * connection's version carries context ids (an ALLOC may have one; versions 1 and 2: bytes 4..7 are 0).
 */
export function validateEventRecords(
  records: Uint8Array,
  view: DataView,
  count: number,
  contexts = false,
): ProtocolError | undefined {
  for (let i = 0, o = 0; i < count; i++, o += EVENT_RECORD_BYTES) {
    // op u8 | memoryType u8 << 8 | deviceId u16 << 16
    const head = view.getUint32(o + OP, true);
    const op = head & 0xff;
    const highWords =
      view.getUint32(o + SEQ + HIGH_WORD, true) |
      view.getUint32(o + ALLOCATION_ID + HIGH_WORD, true) |
      view.getUint32(o + ADDRESS + HIGH_WORD, true) |
      view.getUint32(o + SIZE_BYTES + HIGH_WORD, true) |
      view.getUint32(o + TIMESTAMP_NS + HIGH_WORD, true);
    if (
      (op !== 1 && op !== 2) ||
      ((head >>> 8) & 0xff) >= MEMORY_TYPE_COUNT ||
      head >>> 16 === ALL_DEVICES ||
      (view.getUint32(o + RESERVED, true) !== 0 && (!contexts || op !== 1)) ||
      highWords >>> U64_HIGH_WORD_SHIFT !== 0 ||
      (view.getUint32(o + SEQ, true) === 0 && view.getUint32(o + SEQ + HIGH_WORD, true) === 0)
    ) {
      return (
        validateEventRecord(records, i, contexts) ??
        new ProtocolError(ProtocolErrorCode.INVALID_FIELD, `event record ${i} is invalid`)
      );
    }
  }
  return undefined;
}

/** A fresh event object to pass as `out` to readEventRecord. */
export function emptyAllocationEvent(): AllocationEvent {
  return {
    op: 1,
    deviceId: 0,
    memoryType: 0,
    seq: 0,
    allocationId: 0,
    address: 0,
    sizeBytes: 0,
    timestampNs: 0,
  };
}

/**
 * Checks record `index` of `records` (which must hold it entirely). Undefined when valid. `contexts` as
 * for validateEventRecords.
 */
export function validateEventRecord(
  records: Uint8Array,
  index: number,
  contexts = false,
): ProtocolError | undefined {
  const o = index * EVENT_RECORD_BYTES;
  const op = records[o + OP];
  if (op !== 1 && op !== 2) {
    return new ProtocolError(ProtocolErrorCode.INVALID_OP, `event record ${index}: op ${op} is not 1 or 2`);
  }
  const memoryType = records[o + MEMORY_TYPE];
  if (memoryType >= MEMORY_TYPE_COUNT) {
    return new ProtocolError(
      ProtocolErrorCode.INVALID_MEMORY_TYPE,
      `event record ${index}: memory type ${memoryType} is not below ${MEMORY_TYPE_COUNT}`,
    );
  }
  if (readU16(records, o + DEVICE_ID) === ALL_DEVICES) {
    return new ProtocolError(
      ProtocolErrorCode.INVALID_DEVICE_ID,
      `event record ${index}: device id 0xFFFF is reserved`,
    );
  }
  if (readU32(records, o + RESERVED) !== 0 && (!contexts || op !== 1)) {
    return new ProtocolError(
      ProtocolErrorCode.RESERVED_NOT_ZERO,
      contexts
        ? `event record ${index}: a FREE carries context id 0 (bytes 4..7)`
        : `event record ${index}: reserved bytes 4..7 must be 0 (context ids need protocol version 3)`,
    );
  }
  for (let f = 0; f < 5; f++) {
    if (readU64(records, o + SEQ + f * 8) < 0) {
      return new ProtocolError(
        ProtocolErrorCode.U64_OUT_OF_RANGE,
        `event record ${index}: ${U64_FIELDS[f]} is >= 2^53`,
      );
    }
  }
  if (readU64(records, o + SEQ) === 0) {
    return new ProtocolError(
      ProtocolErrorCode.INVALID_SEQ,
      `event record ${index}: seq 0 (sequences start at 1)`,
    );
  }
  return undefined;
}
