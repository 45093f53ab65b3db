// Deterministic bytes for the handover tests: both ends can produce (and hash) the same stream without
// sending it twice. xorshift32, filled a chunk at a time.
import { createHash } from "node:crypto";

export const CHUNK_BYTES = 1 << 20;

/** The `index`-th chunk (CHUNK_BYTES long, the last one shorter) of the pattern of `totalBytes` from `seed`. */
export function* patternChunks(seed: number, totalBytes: number): Generator<Buffer> {
  let state = seed >>> 0 || 1;
  for (let offset = 0; offset < totalBytes; offset += CHUNK_BYTES) {
    const length = Math.min(CHUNK_BYTES, totalBytes - offset);
    const chunk = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i += 4) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      if (i + 4 <= length) chunk.writeUInt32LE(state, i);
      else for (let j = i; j < length; j++) chunk[j] = (state >>> ((j - i) * 8)) & 0xff;
    }
    yield chunk;
  }
}

/** sha256 (hex) of the whole pattern. */
export function patternHash(seed: number, totalBytes: number): string {
  const hash = createHash("sha256");
  for (const chunk of patternChunks(seed, totalBytes)) hash.update(chunk);
  return hash.digest("hex");
}
