import { LegacyFrameDecoder } from "../../src/protocol/legacy/decoder.js";
import { encodeLegacyRequest } from "../../src/protocol/legacy/encoder.js";
import type { LegacyMessage } from "../../src/protocol/legacy/message.js";
import type { Benchmark } from "../harness/benchmark.js";

/** Socket reads on Linux Unix sockets arrive in chunks of this order, bytes. */
const CHUNK_BYTES = 65536;
const FRAME_BYTES = 144;

/**
 * LegacyFrameDecoder.push over 144-byte ALLOC/FREE frames cut into 64 KiB chunks (frames straddle
 * chunks): the legacy adapter's per-frame decode and grid-check cost, before the registry.
 */
export const legacyDecode: Benchmark = {
  name: "legacy_decode_frames_per_s",
  tier: "micro",
  description:
    "LegacyFrameDecoder.push on 64 KiB chunks of 144-byte frames (pads and response fields checked)",
  metrics: [{ name: "legacy_decode_frames_per_s", unit: "frames/s", comparison: ">=" }],
  async open(context) {
    const frames = context.quick ? 200_000 : 1_000_000;
    const stream = new Uint8Array(frames * FRAME_BYTES);
    const message: LegacyMessage = {
      type: 1,
      deviceId: 0,
      sizeBytes: 0,
      bufferType: 0,
      processId: 4242,
      bufferId: 0,
    };
    for (let i = 0; i < frames; i++) {
      const alloc = (i & 1) === 0;
      message.type = alloc ? 1 : 2;
      message.deviceId = (i >> 1) & 7;
      message.sizeBytes = alloc ? 4096 * (1 + (i & 15)) : 0;
      message.bufferType = alloc ? (i >> 4) % 5 : 0;
      message.bufferId = 0x100000 + (i >> 1) * 64;
      encodeLegacyRequest(FRAME_BYTES, message, stream.subarray(i * FRAME_BYTES, (i + 1) * FRAME_BYTES));
    }
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < stream.length; at += CHUNK_BYTES)
      chunks.push(stream.subarray(at, at + CHUNK_BYTES));
    return {
      async runOnce() {
        let decoded = 0;
        let checksum = 0;
        const decoder = new LegacyFrameDecoder(
          { frame: FRAME_BYTES },
          {
            onLayout() {},
            onMessage(m) {
              decoded++;
              checksum += m.bufferId;
            },
            onBadFrame(error) {
              throw error;
            },
            onQuarantine(error) {
              throw error;
            },
            onResync() {},
            onTruncated(error) {
              throw error;
            },
          },
        );
        const started = process.hrtime.bigint();
        for (const chunk of chunks) decoder.push(chunk);
        const elapsedNs = Number(process.hrtime.bigint() - started);
        if (decoded !== frames || checksum <= 0) throw new Error(`decoded ${decoded} of ${frames} frames`);
        return { legacy_decode_frames_per_s: (decoded / elapsedNs) * 1e9 };
      },
      async close() {},
    };
  },
};
