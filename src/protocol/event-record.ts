import { ProtocolError, ProtocolErrorCode } from "./errors.js";
import type { AllocationEvent } from "./event.js";
import { ALL_DEVICES } from "./frames.js";
import { EVENT_RECORD_BYTES } from "./layout.js";
import { readU16, readU32, readU64 } from "./little-endian.js";
import { MEMORY_TYPE_COUNT } from "./memory-type.js";

/*
 * One EVENTS record, 48 bytes, little-endian (offsets within the record):
 *   0 op u8 · 1 memoryType u8 · 2 deviceId u16 · 4 reserved u32 (0) · 8 seq u64 · 16 allocationId u64
 *   24 address u64 · 32 sizeBytes u64 · 40 timestampNs u64
 */
export const EventRecordOffset = {
  OP: 0,
  MEMORY_TYPE: 1,
  DEVICE_ID: 2,
  RESERVED: 4,
  SEQ: 8,
  ALLOCATION_ID: 16,
  ADDRESS: 24,
  SIZE_BYTES: 32,
  TIMESTAMP_NS: 40,
} as const;

const U64_FIELDS = ["seq", "allocationId", "address", "sizeBytes", "timestampNs"] as const;

/**
 * Fills `out` with record `index` of an EVENTS frame's `records` and returns it. No allocation: the
 * server reuses one object for a whole batch. The decoder has validated every record already, so this
 * does no checks; do not call it on bytes that did not come out of a FrameDecoder.
 */
export function readEventRecord(records: Uint8Array, index: number, out: AllocationEvent): AllocationEvent {
  const o = index * EVENT_RECORD_BYTES;
  out.op = records[o] as AllocationEvent["op"];
  out.memoryType = records[o + 1] as AllocationEvent["memoryType"];
  out.deviceId = readU16(records, o + 2);
  out.seq = readU64(records, o + 8);
  out.allocationId = readU64(records, o + 16);
  out.address = readU64(records, o + 24);
  out.sizeBytes = readU64(records, o + 32);
  out.timestampNs = readU64(records, o + 40);
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
  return view.getUint8(offset);
}

export function eventMemoryType(view: DataView, offset: number): number {
  return view.getUint8(offset + 1);
}

export function eventDeviceId(view: DataView, offset: number): number {
  return view.getUint16(offset + 2, true);
}

export function eventSeq(view: DataView, offset: number): number {
  return view.getUint32(offset + 12, true) * TWO_POW_32 + view.getUint32(offset + 8, true);
}

export function eventAllocationId(view: DataView, offset: number): number {
  return view.getUint32(offset + 20, true) * TWO_POW_32 + view.getUint32(offset + 16, true);
}

export function eventAddress(view: DataView, offset: number): number {
  return view.getUint32(offset + 28, true) * TWO_POW_32 + view.getUint32(offset + 24, true);
}

export function eventSizeBytes(view: DataView, offset: number): number {
  return view.getUint32(offset + 36, true) * TWO_POW_32 + view.getUint32(offset + 32, true);
}

/** A u64 is < 2^53 exactly when its high 32-bit word is < 2^21. */
const U64_HIGH_WORD_SHIFT = 21;

/**
 * Checks the records [0, count) of an EVENTS frame, `view` being eventRecordsView(records). One pass
 * of word reads and bit tests per record; the first record that fails is re-checked by
 * validateEventRecord for the exact error. Undefined when every record is valid.
 */
export function validateEventRecords(
  records: Uint8Array,
  view: DataView,
  count: number,
): ProtocolError | undefined {
  for (let i = 0, o = 0; i < count; i++, o += EVENT_RECORD_BYTES) {
    // op u8 | memoryType u8 << 8 | deviceId u16 << 16
    const head = view.getUint32(o, true);
    const op = head & 0xff;
    const highWords =
      view.getUint32(o + 12, true) |
      view.getUint32(o + 20, true) |
      view.getUint32(o + 28, true) |
      view.getUint32(o + 36, true) |
      view.getUint32(o + 44, true);
    if (
      (op !== 1 && op !== 2) ||
      ((head >>> 8) & 0xff) >= MEMORY_TYPE_COUNT ||
      head >>> 16 === ALL_DEVICES ||
      view.getUint32(o + 4, true) !== 0 ||
      highWords >>> U64_HIGH_WORD_SHIFT !== 0 ||
      (view.getUint32(o + 8, true) === 0 && view.getUint32(o + 12, true) === 0)
    ) {
      return (
        validateEventRecord(records, i) ??
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

/** Checks record `index` of `records` (which must hold it entirely). Undefined when valid. */
export function validateEventRecord(records: Uint8Array, index: number): ProtocolError | undefined {
  const o = index * EVENT_RECORD_BYTES;
  const op = records[o];
  if (op !== 1 && op !== 2) {
    return new ProtocolError(ProtocolErrorCode.INVALID_OP, `event record ${index}: op ${op} is not 1 or 2`);
  }
  const memoryType = records[o + 1];
  if (memoryType >= MEMORY_TYPE_COUNT) {
    return new ProtocolError(
      ProtocolErrorCode.INVALID_MEMORY_TYPE,
      `event record ${index}: memory type ${memoryType} is not below ${MEMORY_TYPE_COUNT}`,
    );
  }
  if (readU16(records, o + 2) === ALL_DEVICES) {
    return new ProtocolError(
      ProtocolErrorCode.INVALID_DEVICE_ID,
      `event record ${index}: device id 0xFFFF is reserved`,
    );
  }
  if (readU32(records, o + 4) !== 0) {
    return new ProtocolError(
      ProtocolErrorCode.RESERVED_NOT_ZERO,
      `event record ${index}: reserved bytes 4..7 must be 0`,
    );
  }
  for (let f = 0; f < 5; f++) {
    if (readU64(records, o + 8 + f * 8) < 0) {
      return new ProtocolError(
        ProtocolErrorCode.U64_OUT_OF_RANGE,
        `event record ${index}: ${U64_FIELDS[f]} is >= 2^53`,
      );
    }
  }
  if (readU64(records, o + 8) === 0) {
    return new ProtocolError(
      ProtocolErrorCode.INVALID_SEQ,
      `event record ${index}: seq 0 (sequences start at 1)`,
    );
  }
  return undefined;
}
