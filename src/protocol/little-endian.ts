/**
 * Little-endian integer access on plain byte arrays. Byte arithmetic instead of a DataView so the hot
 * paths can read any Uint8Array view (decoder buffer or socket chunk) without allocating a DataView.
 * Callers check bounds; these functions do not.
 */

const TWO_POW_32 = 4294967296;
/** A u64 is < 2^53 exactly when its high 32-bit word is < 2^21. */
const U64_HIGH_WORD_LIMIT = 0x200000;

export function readU16(bytes: Uint8Array, offset: number): number {
  return bytes[offset] | (bytes[offset + 1] << 8);
}

export function readU32(bytes: Uint8Array, offset: number): number {
  return (
    (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0
  );
}

/** The u64 at `offset`, or -1 when it is >= 2^53 (not exactly representable). */
export function readU64(bytes: Uint8Array, offset: number): number {
  const high = readU32(bytes, offset + 4);
  if (high >= U64_HIGH_WORD_LIMIT) return -1;
  return high * TWO_POW_32 + readU32(bytes, offset);
}

export function writeU16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value;
  bytes[offset + 1] = value >>> 8;
}

export function writeU32(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value;
  bytes[offset + 1] = value >>> 8;
  bytes[offset + 2] = value >>> 16;
  bytes[offset + 3] = value >>> 24;
}

/** `value` must be an integer in [0, 2^53); callers validate. */
export function writeU64(bytes: Uint8Array, offset: number, value: number): void {
  const low = value % TWO_POW_32;
  writeU32(bytes, offset, low);
  writeU32(bytes, offset + 4, (value - low) / TWO_POW_32);
}

export function isU64(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

export function isU32(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffffffff;
}

export function isU16(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xffff;
}
