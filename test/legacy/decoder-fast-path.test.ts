// The decoder's word-wide path (isCleanRequest and the DataView field reads, one view per chunk) against
// the byte-wise rules: the same verdict for any frame at any alignment, the same fields as readU32/readU64,
// and the same events however the stream is cut into chunks and wherever those chunks sit in memory.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { LegacyFrameDecoder } from "../../src/protocol/legacy/decoder.js";
import { FrameVerdict, frameVerdict, isCleanRequest } from "../../src/protocol/legacy/frame-check.js";
import { LegacyOffset } from "../../src/protocol/legacy/layout.js";
import { readU32, readU64 } from "../../src/protocol/little-endian.js";
import { recording } from "./recording-sink.js";
import { concat, request } from "./wire.js";

const layout = fc.constantFrom(72 as const, 112 as const, 144 as const);

/** Request types (RESPONSE 4 and DEVICE_INFO_RESPONSE 7 are the server's). */
const REQUEST_TYPES = [1, 2, 3, 5, 6, 8, 9, 10, 11, 12];

/** A frame with arbitrary fields (u64s beyond 2^53 included): a request, or with `anyType` any type 1..12. */
const cleanFrame = (frameBytes: 72 | 112 | 144, anyType = false) =>
  fc
    .record({
      type: anyType ? fc.integer({ min: 1, max: 12 }) : fc.constantFrom(...REQUEST_TYPES),
      deviceId: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      size: fc.oneof(fc.integer({ min: 0, max: 2 ** 40 }), fc.constant(2 ** 53), fc.constant(2 ** 63)),
      bufferType: fc.integer({ min: 0, max: 255 }),
      pid: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      bufferId: fc.oneof(
        fc.integer({ min: 0, max: 2 ** 52 }),
        fc.constant(2 ** 53 + 2),
        fc.constant(2 ** 64 - 1),
      ),
    })
    .map((r) => request(frameBytes, r));

/** Byte changes: (position, value), applied to a frame; most leave it clean, some make it unusual. */
const mutations = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 });

function mutated(frame: Uint8Array, changes: readonly [number, number][]): Uint8Array {
  const out = frame.slice();
  for (const [at, value] of changes) out[at % out.length] = value;
  return out;
}

/** `bytes` copied `shift` bytes into a fresh buffer: a view whose byteOffset is not word-aligned. */
function shifted(bytes: Uint8Array, shift: number): Uint8Array {
  const buffer = new Uint8Array(bytes.length + shift + 3);
  buffer.set(bytes, shift);
  return buffer.subarray(shift, shift + bytes.length);
}

test("isCleanRequest agrees with frameVerdict === REQUEST for any frame at any offset", () => {
  fc.assert(
    fc.property(
      layout.chain((f) => fc.tuple(fc.constant(f), cleanFrame(f, true), mutations, fc.nat(7), fc.nat(7))),
      ([frameBytes, frame, changes, shift, at]) => {
        const bytes = new Uint8Array(at + frameBytes);
        bytes.set(mutated(frame, changes), at);
        const view0 = shifted(bytes, shift);
        const view = new DataView(view0.buffer, view0.byteOffset, view0.byteLength);
        assert.equal(
          isCleanRequest(view, at, frameBytes),
          frameVerdict(view0, at, frameBytes) === FrameVerdict.REQUEST,
        );
      },
    ),
    { numRuns: 2000 },
  );
});

test("a type byte 4, 7, 0 or 13+, a non-zero pad or response byte: not clean (the verdict decides)", () => {
  for (const frameBytes of [72, 112, 144] as const) {
    const clean = request(frameBytes, {
      type: 1,
      deviceId: 0,
      size: 64,
      bufferType: 0,
      pid: 7,
      bufferId: 64,
    });
    const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    assert.equal(isCleanRequest(view(clean), 0, frameBytes), true);
    for (const type of [0, 4, 7, 13, 255]) {
      assert.equal(isCleanRequest(view(mutated(clean, [[0, type]])), 0, frameBytes), false, `type ${type}`);
    }
    for (const at of [1, 2, 3, 17, 18, 19, 40, frameBytes - 1]) {
      assert.equal(isCleanRequest(view(mutated(clean, [[at, 1]])), 0, frameBytes), false, `byte ${at}`);
    }
  }
});

test("clean frames decode to the fields readU32/readU64 read, in chunks cut anywhere and placed anywhere", () => {
  fc.assert(
    fc.property(
      layout.chain((f) =>
        fc.tuple(
          fc.constant(f),
          fc.array(cleanFrame(f), { minLength: 1, maxLength: 12 }),
          fc.array(fc.tuple(fc.nat(), fc.nat(3))),
        ),
      ),
      ([frameBytes, frames, cuts]) => {
        const stream = concat(frames);
        const rec = recording();
        const decoder = new LegacyFrameDecoder({ frame: frameBytes }, rec);
        for (const chunk of chunked(stream, cuts)) decoder.push(chunk);
        decoder.end();
        assert.deepEqual(
          rec.messages,
          frames.map((f) => ({
            type: f[0],
            deviceId: readU32(f, LegacyOffset.DEVICE_ID) | 0,
            sizeBytes: readU64(f, LegacyOffset.SIZE),
            bufferType: f[LegacyOffset.BUFFER_TYPE],
            processId: readU32(f, LegacyOffset.PROCESS_ID) | 0,
            bufferId: readU64(f, LegacyOffset.BUFFER_ID),
          })),
        );
        assert.equal(rec.badFrames.length + rec.quarantines.length + rec.truncated.length, 0);
      },
    ),
    { numRuns: 300 },
  );
});

test("any stream (clean, unusual and broken frames): the same events whole, byte by byte, or in chunks", () => {
  fc.assert(
    fc.property(
      layout.chain((f) =>
        fc.tuple(
          fc.constant(f),
          fc.array(fc.tuple(cleanFrame(f, true), mutations), { minLength: 1, maxLength: 10 }),
          fc.array(fc.tuple(fc.nat(), fc.nat(3))),
          fc.constantFrom(72 as const, 112 as const, 144 as const, "auto" as const),
        ),
      ),
      ([frameBytes, frames, cuts, setting]) => {
        const stream = concat(frames.map(([frame, changes]) => mutated(frame, changes)));
        const setting2 = setting === "auto" ? "auto" : frameBytes;
        const whole = events(setting2, [stream]);
        assert.deepEqual(events(setting2, chunked(stream, cuts)), whole);
        assert.deepEqual(
          events(
            setting2,
            [...stream].map((b) => Uint8Array.of(b)),
          ),
          whole,
        );
      },
    ),
    { numRuns: 300 },
  );
});

/** The stream cut at the given points, each chunk at an unaligned place in a buffer of its own. */
function chunked(stream: Uint8Array, cuts: readonly [number, number][]): Uint8Array[] {
  const points = [...new Set(cuts.map(([at]) => at % (stream.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const [i, to] of [...points, stream.length].entries()) {
    if (to <= from) continue;
    chunks.push(shifted(stream.subarray(from, to), cuts[i]?.[1] ?? 1));
    from = to;
  }
  return chunks;
}

function events(setting: 72 | 112 | 144 | "auto", chunks: Uint8Array[]) {
  const rec = recording();
  const decoder = new LegacyFrameDecoder({ frame: setting }, rec);
  for (const chunk of chunks) decoder.push(chunk);
  decoder.end();
  const error = (e: { code: string; message: string; streamOffset?: number }) => ({
    code: e.code,
    message: e.message,
    streamOffset: e.streamOffset,
  });
  return {
    layouts: rec.layouts,
    messages: rec.messages,
    badFrames: rec.badFrames.map(error),
    quarantines: rec.quarantines.map(error),
    resyncs: rec.resyncs,
    truncated: rec.truncated.map(error),
    counts: [decoder.messages, decoder.badFrames, decoder.quarantines, decoder.discardedBytes],
  };
}
