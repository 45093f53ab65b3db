// Bad frames and garbage: unknown types are skipped whole and counted, as many as come; a stream that
// is off the frame grid is quarantined (bytes discarded up to a plausible frame boundary) and decoding
// resumes there. Nothing ever fails the stream; no misaligned bytes are read as a message.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { LegacyFrameDecoder, type LegacyFrameSetting } from "../../src/protocol/legacy/decoder.js";
import { isLegacyProtocolError } from "../../src/protocol/legacy/errors.js";
import type { LegacyMessage } from "../../src/protocol/legacy/message.js";
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

function unknownType(frameBytes: 72 | 112 | 144, type: number): Uint8Array {
  const f = request(frameBytes, alloc(0));
  f[0] = type;
  return f;
}

for (const frameBytes of [72, 112, 144] as const) {
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
    assert.deepEqual(rec.quarantines, []);
  });

  test(`${frameBytes}: a clean RESPONSE sent to the server is an unexpected type, skipped`, () => {
    const rec = recording();
    const d = new LegacyFrameDecoder({ frame: frameBytes }, rec);
    d.push(concat([unknownType(frameBytes, TYPE.RESPONSE), request(frameBytes, alloc(3))]));
    assert.deepEqual(
      rec.badFrames.map((e) => e.code),
      ["LEGACY_UNEXPECTED_TYPE"],
    );
    assert.equal(rec.messages.length, 1);
  });

  test(`${frameBytes}: any number of bad frames is skipped; the stream never fails`, () => {
    const rec = recording();
    const d = new LegacyFrameDecoder({ frame: frameBytes }, rec);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 50; i++)
      frames.push(request(frameBytes, alloc(i)), unknownType(frameBytes, 200 + (i % 50)));
    frames.push(request(frameBytes, alloc(99)));
    d.push(concat(frames));
    assert.equal(rec.badFrames.length, 50);
    assert.equal(rec.messages.length, 51);
    assert.deepEqual(rec.quarantines, []);
  });

  // [what, offset, value]: one byte set where every original client writes zero (or the type byte).
  for (const [what, offset, value] of [
    ["type byte 0", 0, 0],
    ["non-zero pad1", 2, 1],
    ["non-zero pad2", 18, 1],
    ["data in the response fields of a request", frameBytes - 1, 1],
    ["a RESPONSE carrying data", 40, 9],
  ] as const) {
    test(`${frameBytes}: ${what}: that frame is quarantined, decoding resumes at the next one`, () => {
      const rec = recording();
      const d = new LegacyFrameDecoder({ frame: frameBytes }, rec);
      const bad = request(frameBytes, alloc(1));
      bad[offset] = value;
      if (what === "a RESPONSE carrying data") bad[0] = TYPE.RESPONSE;
      d.push(concat([request(frameBytes, alloc(0)), bad, request(frameBytes, alloc(2))]));
      assert.equal(rec.messages.length, 1);
      assert.equal(rec.quarantines.length, 1);
      assert.equal(rec.quarantines[0]!.code, "LEGACY_MALFORMED_FRAME");
      assert.equal(rec.quarantines[0]!.streamOffset, frameBytes);
      assert.equal(d.inQuarantine, true, "the next frame waits for its look-ahead byte");
      assert.equal(d.awaitingIdleHint, true, "... or for the peer to go quiet");
      d.push(request(frameBytes, alloc(3)));
      assert.deepEqual(
        rec.messages.map((m) => m.bufferId),
        [alloc(0).bufferId, alloc(2).bufferId, alloc(3).bufferId],
      );
      assert.deepEqual(rec.resyncs, [{ discardedBytes: frameBytes, streamOffset: 2 * frameBytes }]);
      assert.equal(d.inQuarantine, false);
    });
  }

  test(`${frameBytes}: a frame between two runs of garbage is found`, () => {
    const rec = recording();
    const d = new LegacyFrameDecoder({ frame: frameBytes }, rec);
    const garbage = new Uint8Array(50).fill(0xee);
    const frames = [alloc(1), alloc(2), alloc(3)].map((r) => request(frameBytes, r));
    d.push(concat([frames[0]!, garbage, frames[1]!, garbage, frames[2]!]));
    d.end();
    assert.deepEqual(
      rec.messages.map((m) => m.bufferId),
      [alloc(1).bufferId, alloc(2).bufferId, alloc(3).bufferId],
    );
    assert.equal(rec.quarantines.length, 2);
  });

  test(`${frameBytes}: a quarantine's last plausible frame is decoded when the peer goes idle`, () => {
    const rec = recording();
    const d = new LegacyFrameDecoder({ frame: frameBytes }, rec);
    d.push(concat([Uint8Array.of(0, 0, 0), request(frameBytes, { ...alloc(5), type: TYPE.QUERY })]));
    assert.equal(rec.messages.length, 0);
    assert.equal(d.awaitingIdleHint, true);
    d.idle();
    assert.deepEqual(
      rec.messages.map((m) => m.type),
      [TYPE.QUERY],
    );
    assert.deepEqual(rec.resyncs, [{ discardedBytes: 3, streamOffset: 3 }]);
  });
}

/** Requests as the original clients send them: pid set, ALLOC timestamped (ns since the epoch), FREE not. */
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
  timestamp: fc.oneof(
    fc.constant(0n),
    fc.bigInt({ min: 1_600_000_000_000_000_000n, max: 2_000_000_000_000_000_000n }),
  ),
});

function sameMessage(m: LegacyMessage, r: Request): boolean {
  return (
    m.type === r.type &&
    m.deviceId === r.deviceId &&
    m.sizeBytes === r.size &&
    m.bufferId === r.bufferId &&
    m.processId === r.pid &&
    m.bufferType === r.bufferType
  );
}

/** Whether `wanted` appear in `messages` in order (other messages may come between them). */
function inOrder(messages: readonly LegacyMessage[], wanted: readonly Request[]): boolean {
  let next = 0;
  for (const m of messages) if (next < wanted.length && sameMessage(m, wanted[next]!)) next++;
  return next === wanted.length;
}

test("a stream in another layout never yields a message that was not sent (property)", () => {
  const layouts = [72, 112, 144] as const;
  const pairs = layouts.flatMap((sent) =>
    layouts.filter((read) => read !== sent).map((read) => [sent, read] as const),
  );
  fc.assert(
    fc.property(
      fc.array(arbRequest, { minLength: 1, maxLength: 12 }),
      fc.constantFrom(...pairs),
      (requests, [sent, configured]) => {
        const rec = recording();
        const d = new LegacyFrameDecoder({ frame: configured }, rec);
        d.push(concat(requests.map((r) => request(sent, r))));
        d.end();
        // Offsets 0..39 are shared by the layouts, so a frame can be read correctly where the grids
        // meet: every delivered message must be a sent one, in the order sent.
        let next = 0;
        for (const m of rec.messages) {
          while (next < requests.length && !sameMessage(m, requests[next]!)) next++;
          assert.ok(
            next < requests.length,
            `a message that was not sent (or out of order): ${JSON.stringify(m)}`,
          );
          next++;
        }
      },
    ),
    { numRuns: 300 },
  );
});

for (const setting of [72, 112, 144, "auto"] as const) {
  test(`--legacy-frame ${setting}: garbage between frames loses at most the frame right after it, never the stream (property)`, () => {
    const layouts = setting === "auto" ? ([72, 112, 144] as const) : ([setting] as const);
    fc.assert(
      fc.property(
        fc.array(arbRequest, { minLength: 3, maxLength: 14 }),
        fc.constantFrom(...layouts),
        fc.uint8Array({ minLength: 1, maxLength: 400 }),
        fc.nat(),
        fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 8 }),
        (requests, frameBytes, garbage, where, cuts) => {
          // After auto-detection has settled (it needs the first frame and the byte after it).
          const first = setting === "auto" ? 2 : 0;
          const at = first + (where % (requests.length - first + 1));
          const frames = requests.map((r) => request(frameBytes, r));
          const stream = concat([...frames.slice(0, at), garbage, ...frames.slice(at)]);
          const rec = recording();
          const d = new LegacyFrameDecoder({ frame: setting as LegacyFrameSetting }, rec);
          let pos = 0;
          for (const c of cuts) {
            d.push(stream.subarray(pos, pos + c));
            pos = Math.min(stream.length, pos + c);
            assert.ok(d.bufferedBytes <= 2 * 144, `${d.bufferedBytes} bytes held`);
          }
          d.push(stream.subarray(pos));
          d.end();
          const mustArrive = requests.filter((_, i) => i !== at);
          assert.ok(
            inOrder(rec.messages, mustArrive),
            `frames lost beyond the one after the garbage: got ${rec.messages.length} of ${requests.length}`,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
}

/** Whether some byte 1..12 is followed by three zero bytes: what every frame start looks like. */
function canPassForFrameStart(bytes: Uint8Array): boolean {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i]! >= 1 && bytes[i]! <= 12 && bytes[i + 1] === 0 && bytes[i + 2] === 0 && bytes[i + 3] === 0)
      return true;
  }
  return false;
}

for (const frameBytes of [72, 112, 144] as const) {
  test(`${frameBytes}: garbage that cannot pass for a frame start, between frames, loses nothing (property)`, () => {
    fc.assert(
      fc.property(
        fc.array(arbRequest, { minLength: 1, maxLength: 10 }),
        fc.uint8Array({ minLength: 1, maxLength: 400 }).filter((g) => !canPassForFrameStart(g)),
        fc.nat(),
        (requests, garbage, where) => {
          const at = where % (requests.length + 1);
          const frames = requests.map((r) => request(frameBytes, r));
          const rec = recording();
          const d = new LegacyFrameDecoder({ frame: frameBytes }, rec);
          d.push(concat([...frames.slice(0, at), garbage, ...frames.slice(at)]));
          d.end();
          assert.ok(inOrder(rec.messages, requests), `${rec.messages.length} of ${requests.length} frames`);
          assert.equal(rec.messages.length, requests.length);
          if (at < requests.length) assert.equal(rec.quarantines.length, 1);
        },
      ),
      { numRuns: 200 },
    );
  });

  test(`${frameBytes}: garbage ending like a frame start before a FREE: the look-ahead byte refuses that boundary`, () => {
    // The last 6 bytes of the garbage plus the FREE's first bytes pass every check of a frame (the FREE
    // carries no size and no timestamp, so the bytes under the window's pads and response fields are
    // zero), but the byte after that window falls in the FREE's zeroed response fields.
    const free: Request = {
      type: TYPE.FREE,
      deviceId: 0,
      size: 0,
      bufferType: 0,
      pid: 4242,
      bufferId: 0x1000,
    };
    const garbage = Uint8Array.of(0xff, 0xee, TYPE.ALLOC, 0, 0, 0, 0, 0);
    const rec = recording();
    const d = new LegacyFrameDecoder({ frame: frameBytes }, rec);
    d.push(
      concat([
        request(frameBytes, alloc(1)),
        garbage,
        request(frameBytes, free),
        request(frameBytes, alloc(2)),
      ]),
    );
    d.end();
    assert.deepEqual(
      rec.messages.map((m) => [m.type, m.bufferId]),
      [
        [TYPE.ALLOC, alloc(1).bufferId],
        [TYPE.FREE, 0x1000],
        [TYPE.ALLOC, alloc(2).bufferId],
      ],
    );
    assert.deepEqual(rec.resyncs, [
      { discardedBytes: garbage.length, streamOffset: frameBytes + garbage.length },
    ]);
  });
}

test("arbitrary bytes: only typed errors come out, never an exception, bounded memory (property)", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 1000 }),
      fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 10 }),
      fc.constantFrom<LegacyFrameSetting>(72, 112, 144, "auto"),
      (bytes, cuts, setting) => {
        const rec = recording();
        const d = new LegacyFrameDecoder({ frame: setting }, rec);
        let at = 0;
        for (const c of cuts) {
          d.push(bytes.subarray(at, at + c));
          at += c;
          assert.ok(d.bufferedBytes <= 2 * 144);
        }
        d.push(bytes.subarray(at));
        d.idle();
        d.end();
        for (const e of [...rec.badFrames, ...rec.quarantines, ...rec.truncated]) {
          assert.ok(isLegacyProtocolError(e));
        }
        assert.ok(rec.truncated.length <= 1);
        // Every message is a frame with a defined request type.
        for (const m of rec.messages) assert.ok([1, 2, 3, 5, 6, 8, 9, 10, 11, 12].includes(m.type));
      },
    ),
    { numRuns: 500 },
  );
});
