// Golden request frames (built from the documented offsets) decode to the same messages whether the
// stream arrives whole, byte by byte, split at every boundary, or in random chunks; every layout.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { LegacyFrameDecoder } from "../../src/protocol/legacy/decoder.js";
import type { LegacyMessage } from "../../src/protocol/legacy/message.js";
import { recording } from "./recording-sink.js";
import { concat, type Request, request, TYPE } from "./wire.js";

const PID = 424242;
const golden: Request[] = [
  {
    type: TYPE.ALLOC,
    deviceId: 0,
    size: 4096,
    bufferType: 0,
    pid: PID,
    bufferId: 0x1000,
    timestamp: 1_760_000_000_000_000_000n,
  },
  { type: TYPE.ALLOC, deviceId: 7, size: 2 ** 40 + 3, bufferType: 4, pid: PID, bufferId: 2 ** 52 + 1 },
  { type: TYPE.FREE, deviceId: 0, size: 0, bufferType: 0, pid: PID, bufferId: 0x1000 },
  { type: TYPE.QUERY, deviceId: 3, size: 0, bufferType: 0, pid: 0, bufferId: 0 },
  { type: TYPE.DUMP_REMAINING, deviceId: 0, size: 0, bufferType: 0, pid: 0, bufferId: 0 },
  { type: TYPE.DEVICE_INFO_QUERY, deviceId: -1, size: 0, bufferType: 0, pid: 0, bufferId: 0 },
  { type: TYPE.CB_ALLOC, deviceId: 2, size: 65536 * 64, bufferType: 0, pid: PID, bufferId: 0x19000 },
  { type: TYPE.CB_FREE, deviceId: 2, size: 65536 * 64, bufferType: 0, pid: PID, bufferId: 0x19000 },
  { type: TYPE.KERNEL_LOAD, deviceId: 1, size: 12288, bufferType: 2, pid: PID, bufferId: 77 },
  { type: TYPE.KERNEL_UNLOAD, deviceId: 1, size: 12288, bufferType: 0, pid: PID, bufferId: 77 },
  { type: TYPE.DUMP_KERNELS, deviceId: 0, size: 0, bufferType: 0, pid: 0, bufferId: 0 },
  // u64 above 2^53: decoded as -1 (the adapter counts it as an invalid size / id).
  { type: TYPE.ALLOC, deviceId: 0, size: 2 ** 60, bufferType: 1, pid: -5, bufferId: 2 ** 63 },
];

function expected(r: Request): LegacyMessage {
  return {
    type: r.type as LegacyMessage["type"],
    deviceId: r.deviceId,
    sizeBytes: r.size >= 2 ** 53 ? -1 : r.size,
    bufferType: r.bufferType,
    processId: r.pid,
    bufferId: r.bufferId >= 2 ** 53 ? -1 : r.bufferId,
  };
}

function decode(frame: 72 | 112 | 144 | "auto", chunks: Uint8Array[], end = true) {
  const rec = recording();
  const decoder = new LegacyFrameDecoder({ frame }, rec);
  for (const c of chunks) decoder.push(c);
  if (end) decoder.end();
  return { rec, decoder };
}

for (const frameBytes of [72, 112, 144] as const) {
  const stream = concat(golden.map((g) => request(frameBytes, g)));
  const want = golden.map(expected);

  for (const setting of [frameBytes, "auto"] as const) {
    test(`${frameBytes}-byte frames, --legacy-frame ${setting}: whole stream`, () => {
      const { rec } = decode(setting, [stream]);
      assert.deepEqual(rec.messages, want);
      assert.deepEqual(rec.quarantines, []);
      assert.deepEqual(rec.badFrames, []);
      assert.equal(rec.layouts.length, 1);
      assert.equal(rec.layouts[0]!.frameBytes, frameBytes);
    });

    test(`${frameBytes}-byte frames, --legacy-frame ${setting}: one byte at a time`, () => {
      const chunks = Array.from(stream, (b) => Uint8Array.of(b));
      const { rec } = decode(setting, chunks);
      assert.deepEqual(rec.messages, want);
      assert.deepEqual(rec.quarantines, []);
    });

    test(`${frameBytes}-byte frames, --legacy-frame ${setting}: split into two at every byte boundary`, () => {
      for (let cut = 0; cut <= stream.length; cut++) {
        const { rec } = decode(setting, [stream.subarray(0, cut), stream.subarray(cut)]);
        assert.deepEqual(rec.messages, want, `cut at ${cut}`);
        assert.deepEqual(rec.quarantines, [], `cut at ${cut}`);
      }
    });

    test(`${frameBytes}-byte frames, --legacy-frame ${setting}: random chunking (property)`, () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 40 }), (sizes) => {
          const chunks: Uint8Array[] = [];
          let at = 0;
          for (const size of sizes) {
            if (at >= stream.length) break;
            chunks.push(stream.subarray(at, at + size));
            at += size;
          }
          chunks.push(stream.subarray(at));
          const { rec } = decode(setting, chunks);
          assert.deepEqual(rec.messages, want);
          assert.deepEqual(rec.quarantines, []);
        }),
        { numRuns: 200 },
      );
    });
  }

  test(`${frameBytes}-byte frames: a frame is delivered only once complete; leftovers at end are truncation`, () => {
    const rec = recording();
    const decoder = new LegacyFrameDecoder({ frame: frameBytes }, rec);
    const one = request(frameBytes, golden[0]!);
    decoder.push(one.subarray(0, frameBytes - 1));
    assert.equal(rec.messages.length, 0);
    assert.equal(decoder.bufferedBytes, frameBytes - 1);
    decoder.push(one.subarray(frameBytes - 1));
    assert.equal(rec.messages.length, 1);
    decoder.push(one.subarray(0, 10));
    decoder.end();
    assert.equal(rec.truncated.length, 1);
    assert.equal(rec.truncated[0]!.code, "LEGACY_TRUNCATED_FRAME");
    assert.equal(rec.truncated[0]!.streamOffset, frameBytes);
  });
}
