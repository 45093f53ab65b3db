/**
 * Byte sizes and limits of the native wire format (version 3; version 1 differs in HELLO, versions 1
 * and 2 have no contexts). docs/PROTOCOL.md is the prose form.
 * Offsets inside a frame count from the frame type byte (offset 0), i.e. after the u32 length field.
 */

/** Size of the length field that precedes every frame, bytes. */
export const LENGTH_FIELD_BYTES = 4;
/** Size of the frame type field, bytes. The length field counts it. */
export const FRAME_TYPE_BYTES = 1;

/** One EVENTS record, bytes. */
export const EVENT_RECORD_BYTES = 48;
/** EVENTS body before the records: type u8 + count u32, bytes. */
export const EVENTS_HEADER_BYTES = 5;

/** One SNAPSHOT_CHUNK record (a live allocation), bytes. */
export const LIVE_ALLOCATION_RECORD_BYTES = 32;
/** SNAPSHOT_CHUNK body before the records: type u8 + deviceId u16 + count u32, bytes. */
export const SNAPSHOT_CHUNK_HEADER_BYTES = 7;

/** Session id length on the wire, bytes (32 hex characters in the decoded frame). */
export const SESSION_ID_BYTES = 16;
/** HELLO resume secret length on the wire (version 2 and later), bytes (32 hex characters decoded). */
export const RESUME_SECRET_BYTES = 16;

/** Smallest frame limit a peer may announce or a decoder may be configured with, bytes. */
export const MIN_MAX_FRAME_BYTES = 1024;

/** String limits (UTF-8 bytes, not characters). */
export const MAX_PROCESS_NAME_BYTES = 256;
export const MAX_DEVICE_NAME_BYTES = 128;
export const MAX_ARCHITECTURE_BYTES = 64;
export const MAX_RESYNC_REASON_BYTES = 1024;
export const MAX_ERROR_CODE_BYTES = 64;
export const MAX_ERROR_MESSAGE_BYTES = 4096;
/** Text of one allocation context (CONTEXT frame, version 3). */
export const MAX_CONTEXT_BYTES = 256;
/** Largest context id (u32); 0 means "no context". */
export const MAX_CONTEXT_ID = 0xffffffff;

/** Most devices one HELLO may describe. */
export const MAX_DEVICES_PER_HELLO = 256;

/** Largest value a u64 field may carry: numbers must stay exact in JavaScript (< 2^53). */
export const MAX_U64_VALUE = Number.MAX_SAFE_INTEGER;

/** Events that fit in one EVENTS frame whose length field may be at most `maxFrameBytes`. */
export function maxEventsPerFrame(maxFrameBytes: number): number {
  return Math.max(0, Math.floor((maxFrameBytes - EVENTS_HEADER_BYTES) / EVENT_RECORD_BYTES));
}

/** Live allocations that fit in one SNAPSHOT_CHUNK frame whose length field may be at most `maxFrameBytes`. */
export function maxAllocationsPerChunk(maxFrameBytes: number): number {
  return Math.max(
    0,
    Math.floor((maxFrameBytes - SNAPSHOT_CHUNK_HEADER_BYTES) / LIVE_ALLOCATION_RECORD_BYTES),
  );
}
