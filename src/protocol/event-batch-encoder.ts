import { ProtocolError, ProtocolErrorCode } from "./errors.js";
import { ALL_DEVICES, DEFAULT_MAX_FRAME_BYTES, FrameType } from "./frames.js";
import { EVENT_RECORD_BYTES, EVENTS_HEADER_BYTES, LENGTH_FIELD_BYTES, maxEventsPerFrame } from "./layout.js";
import { isU64, writeU16, writeU32, writeU64 } from "./little-endian.js";
import { MEMORY_TYPE_COUNT } from "./memory-type.js";

/** Bytes before the first record in an encoded EVENTS frame: length u32 + type u8 + count u32. */
const RECORDS_START = LENGTH_FIELD_BYTES + EVENTS_HEADER_BYTES;

/**
 * Builds one EVENTS frame at a time in a buffer allocated once: `append` writes a 48-byte record in
 * place (no allocation), `finish` returns the frame and starts the next one.
 */
export class EventBatchEncoder {
  /** Most events one frame of this encoder holds. */
  readonly capacityEvents: number;
  private readonly buffer: Uint8Array;
  private eventCount = 0;

  /**
   * @param capacityEvents events per frame; default and maximum: as many as fit in DEFAULT_MAX_FRAME_BYTES
   *   (use maxEventsPerFrame(welcome.maxFrameBytes) to match a server's limit).
   */
  constructor(capacityEvents: number = maxEventsPerFrame(DEFAULT_MAX_FRAME_BYTES)) {
    const ceiling = maxEventsPerFrame(DEFAULT_MAX_FRAME_BYTES);
    if (!Number.isInteger(capacityEvents) || capacityEvents < 1 || capacityEvents > ceiling) {
      throw new ProtocolError(
        ProtocolErrorCode.INVALID_VALUE,
        `capacityEvents must be an integer in [1, ${ceiling}], got ${capacityEvents}`,
      );
    }
    this.capacityEvents = capacityEvents;
    this.buffer = new Uint8Array(RECORDS_START + capacityEvents * EVENT_RECORD_BYTES);
  }

  /** Events appended since the last finish(). */
  get count(): number {
    return this.eventCount;
  }

  /** Size the frame would have if finished now, including its length field, bytes. */
  get bytes(): number {
    return RECORDS_START + this.eventCount * EVENT_RECORD_BYTES;
  }

  get isFull(): boolean {
    return this.eventCount === this.capacityEvents;
  }

  /**
   * Appends one event. Returns false (and writes nothing) when the frame is full: finish() it first.
   * Throws ProtocolError for a value the wire cannot carry (a caller bug), with the code the decoder
   * would report for it, so that a frame this encoder produces always decodes.
   */
  append(
    op: number,
    deviceId: number,
    memoryType: number,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    timestampNs: number,
  ): boolean {
    if (this.eventCount === this.capacityEvents) return false;
    checkEvent(op, deviceId, memoryType, seq, allocationId, address, sizeBytes, timestampNs);
    const b = this.buffer;
    const o = RECORDS_START + this.eventCount * EVENT_RECORD_BYTES;
    b[o] = op;
    b[o + 1] = memoryType;
    writeU16(b, o + 2, deviceId);
    writeU32(b, o + 4, 0);
    writeU64(b, o + 8, seq);
    writeU64(b, o + 16, allocationId);
    writeU64(b, o + 24, address);
    writeU64(b, o + 32, sizeBytes);
    writeU64(b, o + 40, timestampNs);
    this.eventCount++;
    return true;
  }

  /** The finished EVENTS frame (a fresh copy, length field included); the encoder starts empty again. */
  finish(): Uint8Array {
    const size = this.bytes;
    writeU32(this.buffer, 0, size - LENGTH_FIELD_BYTES);
    this.buffer[LENGTH_FIELD_BYTES] = FrameType.EVENTS;
    writeU32(this.buffer, LENGTH_FIELD_BYTES + 1, this.eventCount);
    const frame = this.buffer.slice(0, size);
    this.eventCount = 0;
    return frame;
  }

  /** Drops the events appended since the last finish(). */
  reset(): void {
    this.eventCount = 0;
  }
}

/** Throws the ProtocolError the decoder would raise for this event, if any. */
export function checkEvent(
  op: number,
  deviceId: number,
  memoryType: number,
  seq: number,
  allocationId: number,
  address: number,
  sizeBytes: number,
  timestampNs: number,
): void {
  // One combined test on the common path; the slow path below only names the culprit.
  if (
    (op === 1 || op === 2) &&
    memoryType >= 0 &&
    memoryType < MEMORY_TYPE_COUNT &&
    Number.isInteger(memoryType) &&
    deviceId >= 0 &&
    deviceId < ALL_DEVICES &&
    Number.isInteger(deviceId) &&
    seq >= 1 &&
    isU64(seq) &&
    isU64(allocationId) &&
    isU64(address) &&
    isU64(sizeBytes) &&
    isU64(timestampNs)
  ) {
    return;
  }
  if (op !== 1 && op !== 2) {
    throw new ProtocolError(ProtocolErrorCode.INVALID_OP, `event op ${op} is not 1 (ALLOC) or 2 (FREE)`);
  }
  if (!(Number.isInteger(memoryType) && memoryType >= 0 && memoryType < MEMORY_TYPE_COUNT)) {
    throw new ProtocolError(
      ProtocolErrorCode.INVALID_MEMORY_TYPE,
      `event memory type ${memoryType} is invalid`,
    );
  }
  if (!(Number.isInteger(deviceId) && deviceId >= 0 && deviceId < ALL_DEVICES)) {
    throw new ProtocolError(
      ProtocolErrorCode.INVALID_DEVICE_ID,
      `event device id ${deviceId} is not an integer in [0, 0xFFFE]`,
    );
  }
  const values = [seq, allocationId, address, sizeBytes, timestampNs];
  const names = ["seq", "allocationId", "address", "sizeBytes", "timestampNs"];
  for (let i = 0; i < values.length; i++) {
    if (!isU64(values[i])) {
      throw new ProtocolError(
        ProtocolErrorCode.U64_OUT_OF_RANGE,
        `event ${names[i]} ${values[i]} is not an integer in [0, 2^53)`,
      );
    }
  }
  throw new ProtocolError(ProtocolErrorCode.INVALID_SEQ, "event seq 0: sequences start at 1");
}
