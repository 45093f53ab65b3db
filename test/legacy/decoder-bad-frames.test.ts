// Bad frames: unknown types are skipped whole and counted, the connection fails at the bound, and a
// stream that is off the frame grid fails before any misaligned bytes are read as a message.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { LegacyFrameDecoder } from "../../src/protocol/legacy/decoder.js";
import { isLegacyProtocolError } from "../../src/protocol/legacy/errors.js";
import { recording } from "./recording-sink.js";
import { concat, type Request, request, TYPE } from "./wire.js";

const alloc = (i: number): Request => ({
  type: TYPE.ALLOC,
  deviceId: i % 8,
  size: 4096 * (i + 1),
  bufferType: i % 5,
  pid: 31337,
  bufferId: 0x10000 + i * 0x1000,
  timestamp: 1_700_000_000_000_000_000n + BigInt(i),
});

function unknownType(frameBytes: 112 | 144, type: number): Uint8Array {
  const f = request(frameBytes, alloc(0));
  f[0] = type;
  return f;
}

for (const frameBytes of [112, 144] as const) {
  test(`${frameBytes}: an unknown type is skipped whole and counted; the next frames decode`, () => {
    const rec = recording();
    const d = new LegacyFrameDecoder({ frame: frameBytes }, rec);
    d.push(
      concat([request(frameBytes, alloc(1)), unknownType(frameBytes, 13), request(frameBytes, alloc(2))]),
    );
    assert.equal(rec.messages.length, 2);
    assert.equal(rec.messages[1]!.bufferId, alloc(2).bufferId);
    assert.deepEqual(
      rec.badFrames.map((e) => [e.code, e.streamOffset]),
      [["LEGACY_UNKNOWN_TYPE", frameBytes]],
    );
    assert.equal(d.badFrames, 1);
    assert.deepEqual(rec.fatal, []);
  });

  test(`${frameBytes}: a RESPONSE sent to the server is an unexpected type, skipped`, () => {
    const rec = recording();
    const d = new LegacyFrameDecoder({ frame: frameBytes }, rec);
    const response = new Uint8Array(frameBytes);
    response[0] = TYPE.RESPONSE;
    response[40] = 9; // a response carries data in its response fields
    d.push(concat([response, request(frameBytes, alloc(3))]));
    assert.deepEqual(
      rec.badFrames.map((e) => e.code),
      ["LEGACY_UNEXPECTED_TYPE"],
    );
    assert.equal(rec.messages.length, 1);
  });

  test(`${frameBytes}: the connection fails at the 10th bad frame (default bound), nothing after is read`, () => {
    const rec = recording();
    const d = new LegacyFrameDecoder({ frame: frameBytes }, rec);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 10; i++) frames.push(request(frameBytes, alloc(i)), unknownType(frameBytes, 200 + i));
    frames.push(request(frameBytes, alloc(99)));
    d.push(concat(frames));
    assert.equal(rec.badFrames.length, 10);
    assert.equal(rec.messages.length, 10); // the ALLOC after the 10th bad frame is not decoded
    assert.equal(rec.fatal.length, 1);
    assert.equal(rec.fatal[0]!.code, "LEGACY_TOO_MANY_BAD_FRAMES");
    d.push(request(frameBytes, alloc(100)));
    assert.equal(rec.messages.length, 10);
  });

  test(`${frameBytes}: the bound is configurable`, () => {
    const rec = recording();
    const d = new LegacyFrameDecoder({ frame: frameBytes, maxBadFrames: 2 }, rec);
    d.push(concat([unknownType(frameBytes, 50), unknownType(frameBytes, 51), request(frameBytes, alloc(1))]));
    assert.equal(rec.badFrames.length, 2);
    assert.equal(rec.fatal[0]!.code, "LEGACY_TOO_MANY_BAD_FRAMES");
    assert.equal(rec.messages.length, 0);
  });

  // [what, offset, value]: one byte set where every original client writes zero (or the type byte).
  for (const [what, offset, value] of [
    ["type byte 0", 0, 0],
    ["non-zero pad1", 2, 1],
    ["non-zero pad2", 18, 1],
    ["data in the response fields of a request", frameBytes - 1, 1],
  ] as const) {
    test(`${frameBytes}: ${what} fails the stream at once (off the frame grid)`, () => {
      const rec = recording();
      const d = new LegacyFrameDecoder({ frame: frameBytes }, rec);
      const bad = request(frameBytes, alloc(1));
      bad[offset] = value;
      d.push(concat([request(frameBytes, alloc(0)), bad, request(frameBytes, alloc(2))]));
      assert.equal(rec.messages.length, 1);
      assert.equal(rec.fatal.length, 1);
      assert.equal(rec.fatal[0]!.code, "LEGACY_MALFORMED_FRAME");
      assert.equal(rec.fatal[0]!.streamOffset, frameBytes);
    });
  }
}

const arbRequest = fc.record({
  type: fc.constantFrom(1, 2, 3, 5, 6, 8, 9, 10, 11, 12),
  deviceId: fc.integer({ min: -1, max: 63 }),
  size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 40 })),
  bufferType: fc.integer({ min: 0, max: 255 }),
  pid: fc.integer({ min: 1, max: 4_194_304 }),
  bufferId: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 0, max: 2 ** 40 }).map((a) => a * 32),
  ),
  timestamp: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
});

test("a stream in the other layout never yields a message that was not sent (property)", () => {
  fc.assert(
    fc.property(
      fc.array(arbRequest, { minLength: 1, maxLength: 12 }),
      fc.constantFrom<[112 | 144, 112 | 144]>([112, 144], [144, 112]),
      (requests, [sent, configured]) => {
        const rec = recording();
        const d = new LegacyFrameDecoder({ frame: configured }, rec);
        d.push(concat(requests.map((r) => request(sent, r))));
        d.end();
        // Offsets 0..39 are shared by the layouts, so a frame can be read correctly before the grid
        // breaks: every delivered message must be the sent message at the same position.
        rec.messages.forEach((m, i) => {
          const r = requests[i]!;
          assert.equal(m.type, r.type);
          assert.equal(m.deviceId, r.deviceId);
          assert.equal(m.sizeBytes, r.size);
          assert.equal(m.bufferId, r.bufferId);
          assert.equal(m.processId, r.pid);
        });
        assert.ok(
          rec.messages.length <= 1,
          `delivered ${rec.messages.length} messages from the wrong layout`,
        );
        if (requests.length > 1) assert.equal(rec.fatal.length, 1);
      },
    ),
    { numRuns: 300 },
  );
});

test("arbitrary bytes: only typed errors come out, never an exception, for every setting (property)", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 1000 }),
      fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 10 }),
      fc.constantFrom<112 | 144 | "auto">(112, 144, "auto"),
      (bytes, cuts, setting) => {
        const rec = recording();
        const d = new LegacyFrameDecoder({ frame: setting }, rec);
        let at = 0;
        for (const c of cuts) {
          d.push(bytes.subarray(at, at + c));
          at += c;
        }
        d.push(bytes.subarray(at));
        d.idle();
        d.end();
        for (const e of [...rec.badFrames, ...rec.fatal]) assert.ok(isLegacyProtocolError(e));
        assert.ok(rec.fatal.length <= 1);
        // Every message is a frame of the grid with a defined request type.
        for (const m of rec.messages) assert.ok([1, 2, 3, 5, 6, 8, 9, 10, 11, 12].includes(m.type));
      },
    ),
    { numRuns: 500 },
  );
});
