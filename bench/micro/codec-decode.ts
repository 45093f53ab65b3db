import { emptyAllocationEvent, readEventRecord } from "../../src/protocol/event-record.js";
import { FrameDecoder } from "../../src/protocol/frame-decoder.js";
import { type Frame, FrameType } from "../../src/protocol/frames.js";
import { ChurnStream, toChunks } from "../fixtures/churn.js";
import type { Benchmark } from "../harness/benchmark.js";

/** Socket reads on Linux Unix sockets arrive in chunks of this order, bytes. */
const CHUNK_BYTES = 65536;

/**
 * FrameDecoder.feed + readEventRecord over a stream cut into 64 KiB chunks: the server's per-event
 * decode cost before the registry (frames straddling chunks are assembled, as on a real socket).
 */
export const codecDecode: Benchmark = {
  name: "codec_decode_events_per_s",
  tier: "micro",
  description: "FrameDecoder.feed on 64 KiB chunks + readEventRecord for every record (validation included)",
  metrics: [{ name: "codec_decode_events_per_s", unit: "events/s", comparison: ">=" }],
  async open(context) {
    const events = context.quick ? 300_000 : 2_000_000;
    const stream = new ChurnStream(0, 10_000, 2048);
    const chunks = toChunks([...stream.prefillFrames(), ...stream.churnFrames(events - 10_000)], CHUNK_BYTES);
    const event = emptyAllocationEvent();
    return {
      async runOnce() {
        const decoder = new FrameDecoder();
        let decoded = 0;
        let checksum = 0;
        const onFrame = (frame: Frame) => {
          if (frame.type !== FrameType.EVENTS) return;
          for (let i = 0; i < frame.count; i++) {
            readEventRecord(frame.records, i, event);
            checksum += event.seq;
          }
          decoded += frame.count;
        };
        const started = process.hrtime.bigint();
        for (const chunk of chunks) {
          const error = decoder.feed(chunk, onFrame);
          if (error !== undefined) throw error;
        }
        const elapsedNs = Number(process.hrtime.bigint() - started);
        if (decoded !== stream.eventCount || checksum <= 0) throw new Error(`decoded ${decoded} events`);
        return { codec_decode_events_per_s: (decoded / elapsedNs) * 1e9 };
      },
      async close() {},
    };
  },
};
