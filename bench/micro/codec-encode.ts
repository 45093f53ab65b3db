import { EventBatchEncoder } from "../../src/protocol/event-batch-encoder.js";
import type { Benchmark } from "../harness/benchmark.js";

const EVENTS_PER_FRAME = 2048;

/** EventBatchEncoder.append + finish: the client's per-event encoding cost, in one tight loop. */
export const codecEncode: Benchmark = {
  name: "codec_encode_events_per_s",
  tier: "micro",
  description: "EventBatchEncoder.append of 48-byte records, finish() every 2048 events",
  metrics: [{ name: "codec_encode_events_per_s", unit: "events/s", comparison: ">=" }],
  async open(context) {
    const events = context.quick ? 300_000 : 2_000_000;
    const encoder = new EventBatchEncoder(EVENTS_PER_FRAME);
    let seq = 1;
    let sink = 0;
    return {
      async runOnce() {
        const started = process.hrtime.bigint();
        for (let i = 0; i < events; i++) {
          if (encoder.isFull) sink += encoder.finish().length;
          encoder.append((i & 1) + 1, 0, 0, seq++, i + 1, (i & 0xffff) * 4096, 4096, i);
        }
        sink += encoder.finish().length;
        const elapsedNs = Number(process.hrtime.bigint() - started);
        if (sink === 0) throw new Error("encoder produced nothing");
        return { codec_encode_events_per_s: (events / elapsedNs) * 1e9 };
      },
      async close() {},
    };
  },
};
