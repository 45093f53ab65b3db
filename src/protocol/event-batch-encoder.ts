import { ProtocolError, ProtocolErrorCode } from "./errors.js";
import { EventRecordOffset } from "./event-record.js";
import { ALL_DEVICES, DEFAULT_MAX_FRAME_BYTES, FrameType } from "./frames.js";
import { EVENT_RECORD_BYTES, EVENTS_HEADER_BYTES, LENGTH_FIELD_BYTES, maxEventsPerFrame } from "./layout.js";
import { isU64, writeU32 } from "./little-endian.js";
import { MEMORY_TYPE_COUNT } from "./memory-type.js";

/** Bytes before the first record in an encoded EVENTS frame: length u32 + type u8 + count u32. */
const RECORDS_START = LENGTH_FIELD_BYTES + EVENTS_HEADER_BYTES;
// Private copies for append(): V8 re-reads an imported binding from its module cell at every use.
const RECORD_BYTES = EVENT_RECORD_BYTES;
const TYPE_LIMIT = MEMORY_TYPE_COUNT;
const DEVICE_LIMIT = ALL_DEVICES;
// Private copies of the offsets for the record writer: V8 folds a module-local constant, but
// re-reads a property of an exported object at every use. event-record.ts keeps the same copies for
// the readers, deliberately: a shared module would export them, which is the cost avoided here.
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
const TWO_POW_32 = 4294967296;
/** A u64 is < 2^53 exactly when its high 32-bit word is < 2^21. */
const U64_HIGH_WORD_LIMIT = 0x200000;

/** Spare batch buffers kept for reuse: enough to cover the frames the socket is still writing. */
const MAX_SPARE_BUFFERS = 4;

/**
 * Builds one EVENTS frame at a time in place: `append` writes a 48-byte record into the batch buffer
 * (no allocation), `finish` returns the frame and starts the next one. A (nearly) full batch is handed
 * over as is, and the encoder continues in a spare buffer; `recycle` gives a written frame's buffer
 * back, so a steady stream of full batches allocates nothing. (Allocating and copying a fresh ~100 KB
 * frame per batch cost more than encoding its 2048 records.)
 */
export class EventBatchEncoder {
  /** Most events one frame of this encoder holds. */
  readonly capacityEvents: number;
  private buffer: Uint8Array;
  /** The same bytes as `buffer`: DataView writes are unaligned-safe and little-endian on any host. */
  private view: DataView;
  private readonly spares: Uint8Array[] = [];
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
    this.view = new DataView(this.buffer.buffer);
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
   * would report for it, so that a frame this encoder produces always decodes. Parameters in EventFields
   * order, then `contextId` (version 3: an ALLOC's context, 0 = none; a FREE and versions 1 and 2 pass 0).
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
    contextId = 0,
  ): boolean {
    if (this.eventCount === this.capacityEvents) return false;
    // Each u64 is split into 32-bit words once; the same words prove the value is an integer in
    // [0, 2^53) (they add back up to it and the high word is < 2^21), so checking costs no extra pass.
    // `%` on a double would be a call to fmod per field: this was most of the client's per-event cost.
    const seqLow = seq >>> 0;
    const seqHigh = (seq / TWO_POW_32) >>> 0;
    const idLow = allocationId >>> 0;
    const idHigh = (allocationId / TWO_POW_32) >>> 0;
    const addressLow = address >>> 0;
    const addressHigh = (address / TWO_POW_32) >>> 0;
    const sizeLow = sizeBytes >>> 0;
    const sizeHigh = (sizeBytes / TWO_POW_32) >>> 0;
    const timeLow = timestampNs >>> 0;
    const timeHigh = (timestampNs / TWO_POW_32) >>> 0;
    if (
      !(
        (op === 1 || op === 2) &&
        memoryType >>> 0 === memoryType &&
        memoryType < TYPE_LIMIT &&
        deviceId >>> 0 === deviceId &&
        deviceId < DEVICE_LIMIT &&
        seq !== 0 &&
        seqHigh < U64_HIGH_WORD_LIMIT &&
        seqHigh * TWO_POW_32 + seqLow === seq &&
        idHigh < U64_HIGH_WORD_LIMIT &&
        idHigh * TWO_POW_32 + idLow === allocationId &&
        addressHigh < U64_HIGH_WORD_LIMIT &&
        addressHigh * TWO_POW_32 + addressLow === address &&
        sizeHigh < U64_HIGH_WORD_LIMIT &&
        sizeHigh * TWO_POW_32 + sizeLow === sizeBytes &&
        timeHigh < U64_HIGH_WORD_LIMIT &&
        timeHigh * TWO_POW_32 + timeLow === timestampNs &&
        contextId >>> 0 === contextId &&
        (contextId === 0 || op === 1)
      )
    ) {
      // Names the culprit with the code the decoder would report (always throws here).
      checkEvent(op, deviceId, memoryType, seq, allocationId, address, sizeBytes, timestampNs);
      checkContextId(op, contextId);
    }
    const v = this.view;
    const o = RECORDS_START + this.eventCount * RECORD_BYTES;
    // op u8 · memoryType u8 · deviceId u16 in one little-endian word, then the reserved word.
    v.setUint32(o + OP, op | (memoryType << (8 * MEMORY_TYPE)) | (deviceId << (8 * DEVICE_ID)), true);
    v.setUint32(o + RESERVED, contextId, true);
    v.setUint32(o + SEQ, seqLow, true);
    v.setUint32(o + SEQ + HIGH_WORD, seqHigh, true);
    v.setUint32(o + ALLOCATION_ID, idLow, true);
    v.setUint32(o + ALLOCATION_ID + HIGH_WORD, idHigh, true);
    v.setUint32(o + ADDRESS, addressLow, true);
    v.setUint32(o + ADDRESS + HIGH_WORD, addressHigh, true);
    v.setUint32(o + SIZE_BYTES, sizeLow, true);
    v.setUint32(o + SIZE_BYTES + HIGH_WORD, sizeHigh, true);
    v.setUint32(o + TIMESTAMP_NS, timeLow, true);
    v.setUint32(o + TIMESTAMP_NS + HIGH_WORD, timeHigh, true);
    this.eventCount++;
    return true;
  }

  /**
   * The finished EVENTS frame (length field included); the encoder starts empty again. A frame that
   * fills at least 3/4 of the batch buffer is that buffer (the encoder moves on to a spare one); a smaller
   * one is a copy, so that a queue of small frames never pins whole batch buffers. Either way, later
   * appends never change a returned frame.
   */
  finish(): Uint8Array {
    const size = this.bytes;
    const buffer = this.buffer;
    writeU32(buffer, 0, size - LENGTH_FIELD_BYTES);
    buffer[LENGTH_FIELD_BYTES] = FrameType.EVENTS;
    writeU32(buffer, LENGTH_FIELD_BYTES + 1, this.eventCount);
    this.eventCount = 0;
    if (size * 4 < buffer.length * 3) return buffer.slice(0, size);
    const next = this.spares.pop() ?? new Uint8Array(buffer.length);
    this.buffer = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    return buffer.subarray(0, size);
  }

  /**
   * Hands back a frame from finish() that nothing reads any more (the socket has written it), so its
   * buffer serves a later batch. Copied frames, frames of other origins and surplus buffers are left to
   * the garbage collector. Do not touch the frame afterwards.
   */
  recycle(frame: Uint8Array): void {
    const spares = this.spares;
    if (
      frame.byteOffset !== 0 ||
      frame.buffer.byteLength !== this.buffer.length ||
      frame.buffer === this.buffer.buffer ||
      spares.length >= MAX_SPARE_BUFFERS
    ) {
      return;
    }
    for (let i = 0; i < spares.length; i++) if (spares[i]!.buffer === frame.buffer) return;
    spares.push(new Uint8Array(frame.buffer, 0, this.buffer.length));
  }

  /** Drops the events appended since the last finish(). */
  reset(): void {
    this.eventCount = 0;
  }
}

/** Throws the ProtocolError the decoder would raise for this event, if any. */
// Parameters in EventFields order, typed as plain numbers: it names the fault in values the tuple's
// types would refuse.
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

/** Throws for a context id the wire cannot carry: not a u32, or non-zero on a FREE. */
function checkContextId(op: number, contextId: number): void {
  if (contextId >>> 0 !== contextId) {
    throw new ProtocolError(
      ProtocolErrorCode.INVALID_VALUE,
      `contextId ${contextId} is not an integer in [0, 2^32)`,
    );
  }
  if (contextId !== 0 && op !== 1) {
    throw new ProtocolError(ProtocolErrorCode.RESERVED_NOT_ZERO, "a FREE carries context id 0");
  }
}
