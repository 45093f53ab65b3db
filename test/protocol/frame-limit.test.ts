import assert from "node:assert/strict";
import test from "node:test";
import { encodeEvents, encodeGoodbye } from "../../src/protocol/encode-frame.js";
import { FrameDecoder } from "../../src/protocol/frame-decoder.js";
import { DEFAULT_MAX_FRAME_BYTES } from "../../src/protocol/frames.js";
import { maxEventsPerFrame } from "../../src/protocol/layout.js";
import { concat, rawFrame } from "./wire-fixtures.js";

function lengthField(length: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, length, true);
  return out;
}

test("a 1 GiB length is rejected from its 4 header bytes alone, with nothing buffered", () => {
  const decoder = new FrameDecoder();
  const error = decoder.feed(lengthField(1 << 30), () => assert.fail("no frame"));
  assert.equal(error?.code, "PROTO_FRAME_TOO_LARGE");
  assert.equal(decoder.bufferedCapacityBytes, 0);
});

test("an oversized length is rejected even when its header arrives one byte at a time", () => {
  const decoder = new FrameDecoder();
  const header = lengthField(0xffffffff);
  for (let i = 0; i < 3; i++)
    assert.equal(
      decoder.feed(header.subarray(i, i + 1), () => {}),
      undefined,
    );
  assert.equal(decoder.feed(header.subarray(3), () => {})?.code, "PROTO_FRAME_TOO_LARGE");
  assert.equal(decoder.bufferedCapacityBytes, 0);
});

test("the limit is inclusive and configurable", () => {
  const decoder = new FrameDecoder({ maxFrameBytes: 4096 });
  assert.equal(decoder.maxFrameBytes, 4096);
  // A frame of exactly the limit is fine (payload content aside: type 200 is unknown, which is later).
  assert.equal(
    decoder.feed(lengthField(4096), () => {}),
    undefined,
  );
  const other = new FrameDecoder({ maxFrameBytes: 4096 });
  assert.equal(other.feed(lengthField(4097), () => {})?.code, "PROTO_FRAME_TOO_LARGE");
  // The default limit accepts a full EVENTS frame of the largest batch.
  const full = encodeEvents(
    Array.from({ length: maxEventsPerFrame(DEFAULT_MAX_FRAME_BYTES) }, (_, i) => ({
      op: 1 as const,
      deviceId: 0,
      memoryType: 0 as const,
      seq: i + 1,
      allocationId: i,
      address: 0,
      sizeBytes: 1,
      timestampNs: 0,
    })),
  );
  assert.ok(full.length - 4 <= DEFAULT_MAX_FRAME_BYTES);
  let count = 0;
  assert.equal(
    new FrameDecoder().feed(full, (f) => {
      count = f.type === 3 ? f.count : -1;
    }),
    undefined,
  );
  assert.equal(count, maxEventsPerFrame(DEFAULT_MAX_FRAME_BYTES));
});

test("a frame split across chunks is buffered only as far as its bytes have arrived", () => {
  const decoder = new FrameDecoder();
  // Announces 1 MiB but sends 10 bytes: the buffer must not jump to the announced size.
  assert.equal(
    decoder.feed(concat(lengthField(1 << 20), new Uint8Array(10).fill(3)), () => {}),
    undefined,
  );
  assert.ok(decoder.bufferedCapacityBytes <= 4096, `buffered ${decoder.bufferedCapacityBytes}`);
  assert.equal(decoder.end()?.code, "PROTO_TRUNCATED_FRAME");
});

test("the assembly buffer never exceeds the frame being assembled", () => {
  const frame = rawFrame(200, new Uint8Array(10_000));
  const decoder = new FrameDecoder();
  for (let at = 0; at < frame.length - 1; at += 333) {
    assert.equal(
      decoder.feed(frame.subarray(at, Math.min(at + 333, frame.length - 1)), () => {}),
      undefined,
    );
    assert.ok(decoder.bufferedCapacityBytes <= 10_001);
  }
  assert.equal(decoder.feed(frame.subarray(frame.length - 1), () => {})?.code, "PROTO_UNKNOWN_FRAME_TYPE");
  assert.equal(decoder.bufferedCapacityBytes, 0, "released after failure");
});

test("frames entirely inside one chunk are decoded in place, without the assembly buffer", () => {
  const decoder = new FrameDecoder();
  const events = encodeEvents([
    { op: 1, deviceId: 0, memoryType: 0, seq: 1, allocationId: 1, address: 0, sizeBytes: 1, timestampNs: 0 },
  ]);
  const chunk = concat(events, encodeGoodbye(), events);
  const views: Uint8Array[] = [];
  assert.equal(
    decoder.feed(chunk, (f) => {
      if (f.type === 3) views.push(f.records);
    }),
    undefined,
  );
  assert.equal(decoder.bufferedCapacityBytes, 0);
  assert.equal(views.length, 2);
  for (const view of views) assert.equal(view.buffer, chunk.buffer, "records are a view of the chunk");
  assert.ok(decoder.atFrameBoundary);
  assert.equal(decoder.end(), undefined);
});
