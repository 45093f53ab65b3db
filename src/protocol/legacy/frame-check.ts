import {
  LEGACY_MAX_MESSAGE_TYPE,
  LEGACY_RESPONSE_FIELDS_OFFSET,
  type LegacyFrameBytes,
  LegacyMessageType,
} from "./layout.js";

/**
 * What a frame-sized block of bytes is, judged by what every client of the original protocol
 * guarantees (it zero-fills the struct before setting fields): type byte 1..12, pad bytes 1..3 and
 * 17..19 zero, and in a request the response fields (offset 40 to the end) zero.
 */
export const FrameVerdict = {
  /** A request: type 1..12 (not 4 or 7), pads zero, response fields zero. */
  REQUEST: 0,
  /** Type 13..255 in an otherwise clean frame: on the grid, but not a message we know. */
  UNKNOWN_TYPE: 1,
  /**
   * RESPONSE (4) or DEVICE_INFO_RESPONSE (7), otherwise clean: a server-to-client type. (One carrying
   * data in its response fields is OFF_GRID: only a clean frame may keep the grid, see boundary-search.ts.)
   */
  UNEXPECTED_TYPE: 2,
  /** Type 0, a non-zero pad byte, or data in a request's response fields: not a frame start. */
  OFF_GRID: 3,
} as const;
export type FrameVerdict = (typeof FrameVerdict)[keyof typeof FrameVerdict];

/** Judges `bytes[at .. at + frame)`. Allocation-free: it runs once per frame. */
export function frameVerdict(bytes: Uint8Array, at: number, frame: LegacyFrameBytes): FrameVerdict {
  const type = bytes[at]!;
  if (type === 0 || !padBytesClear(bytes, at)) return FrameVerdict.OFF_GRID;
  for (let i = at + LEGACY_RESPONSE_FIELDS_OFFSET, end = at + frame; i < end; i++) {
    if (bytes[i] !== 0) return FrameVerdict.OFF_GRID;
  }
  if (type > LEGACY_MAX_MESSAGE_TYPE) return FrameVerdict.UNKNOWN_TYPE;
  if (type === LegacyMessageType.RESPONSE || type === LegacyMessageType.DEVICE_INFO_RESPONSE) {
    return FrameVerdict.UNEXPECTED_TYPE;
  }
  return FrameVerdict.REQUEST;
}

/**
 * Whether `frameVerdict` would say REQUEST, read a 32-bit word at a time: the decoder's per-frame check
 * (any other answer goes to `frameVerdict` for the exact verdict). `view` covers the same bytes as the
 * Uint8Array the frame is in; a DataView reads any alignment, so socket chunks are read in place.
 */
export function isCleanRequest(view: DataView, at: number, frame: LegacyFrameBytes): boolean {
  // Bytes 1..3 and 17..19 are the high 24 bits of the little-endian words at 0 and 16.
  const type = view.getUint8(at);
  if (type === 0 || type > LEGACY_MAX_MESSAGE_TYPE) return false;
  if (type === LegacyMessageType.RESPONSE || type === LegacyMessageType.DEVICE_INFO_RESPONSE) return false;
  let dirty = (view.getUint32(at, true) >>> 8) | (view.getUint32(at + 16, true) >>> 8);
  // Every layout is a multiple of 8 bytes long, and the response fields start at 40: whole words.
  for (let i = at + LEGACY_RESPONSE_FIELDS_OFFSET, end = at + frame; i < end; i += 8) {
    dirty |= view.getInt32(i, true) | view.getInt32(i + 4, true);
  }
  return dirty === 0;
}

/** Whether the frame at `at` has its pad bytes (1..3 and 17..19, in every layout) zero. */
export function padBytesClear(bytes: Uint8Array, at: number): boolean {
  return (
    (bytes[at + 1]! |
      bytes[at + 2]! |
      bytes[at + 3]! |
      bytes[at + 17]! |
      bytes[at + 18]! |
      bytes[at + 19]!) ===
    0
  );
}

/** Whether `byte` can be the type byte of a request (1..12). */
export function isMessageType(byte: number): boolean {
  return byte >= 1 && byte <= LEGACY_MAX_MESSAGE_TYPE;
}

/** Why frameVerdict said OFF_GRID, for the error message (only called on that rare path). */
export function offGridReason(bytes: Uint8Array, at: number, frame: LegacyFrameBytes): string {
  const type = bytes[at]!;
  if (type === 0) return "type byte 0";
  for (const pad of [1, 2, 3, 17, 18, 19]) {
    if (bytes[at + pad] !== 0) return `non-zero pad byte at offset ${pad} in a frame of type ${type}`;
  }
  for (let i = LEGACY_RESPONSE_FIELDS_OFFSET; i < frame; i++) {
    if (bytes[at + i] !== 0) {
      return `a request of type ${type} carries data at offset ${i} (response fields must be zero)`;
    }
  }
  return "not a frame start";
}
