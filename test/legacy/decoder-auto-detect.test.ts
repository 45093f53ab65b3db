// --legacy-frame auto: the layout is chosen from the bytes (byte 72, then byte 112 decide), or from an
// idle peer that sent exactly 72 or 112 bytes and waits for a reply; the choice and its reason are
// reported; garbage before the first frame is discarded up to a byte that can start one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LegacyFrameDecoder } from "../../src/protocol/legacy/decoder.js";
import { recording } from "./recording-sink.js";
import { concat, request, TYPE } from "./wire.js";

const query = { type: TYPE.QUERY, deviceId: 0, size: 0, bufferType: 0, pid: 0, bufferId: 0 };
const free = { type: TYPE.FREE, deviceId: 1, size: 0, bufferType: 0, pid: 5, bufferId: 0x2000 };

test("auto: a second 112-byte frame starting at byte 112 picks 112", () => {
  const rec = recording();
  const d = new LegacyFrameDecoder({ frame: "auto" }, rec);
  d.push(concat([request(112, free), request(112, query)]));
  assert.equal(d.frameBytes, 112);
  assert.equal(rec.layouts.length, 1);
  assert.match(rec.layouts[0]!.reason, /byte 112 is 3/);
  assert.equal(rec.messages.length, 2);
});

test("auto: zeros at bytes 72..143 (response fields of the first frame) pick 144 once the frame is whole", () => {
  const rec = recording();
  const d = new LegacyFrameDecoder({ frame: "auto" }, rec);
  d.push(request(144, free).subarray(0, 143));
  assert.equal(d.frameBytes, undefined);
  assert.equal(rec.messages.length, 0, "no message before the frame is whole");
  d.push(request(144, free).subarray(143));
  assert.equal(d.frameBytes, 144);
  assert.match(rec.layouts[0]!.reason, /bytes 72\.\.143 are 0/);
  assert.equal(rec.messages.length, 1);
});

test("auto: a lone 112-byte QUERY is held until the peer goes idle, then decoded as 112", () => {
  const rec = recording();
  const d = new LegacyFrameDecoder({ frame: "auto" }, rec);
  d.push(request(112, query));
  assert.equal(d.frameBytes, undefined);
  assert.equal(d.awaitingIdleHint, true);
  assert.equal(rec.messages.length, 0);
  d.idle();
  assert.equal(d.frameBytes, 112);
  assert.match(rec.layouts[0]!.reason, /exactly 112 bytes/);
  assert.equal(rec.messages.length, 1);
  assert.equal(rec.messages[0]!.type, TYPE.QUERY);
  // The connection keeps the chosen layout.
  d.push(request(112, free));
  assert.equal(rec.messages.length, 2);
});

test("auto: idle with fewer than 112 bytes decides nothing", () => {
  const rec = recording();
  const d = new LegacyFrameDecoder({ frame: "auto" }, rec);
  d.push(request(144, query).subarray(0, 100));
  assert.equal(d.awaitingIdleHint, false);
  d.idle();
  assert.equal(d.frameBytes, undefined);
  d.push(request(144, query).subarray(100));
  assert.equal(d.frameBytes, 144);
  assert.equal(rec.messages.length, 1);
});

test("auto: first bytes that start no frame are discarded up to a byte that can, then detection runs again", () => {
  const rec = recording();
  const d = new LegacyFrameDecoder({ frame: "auto" }, rec);
  const garbage = new TextEncoder().encode("GET / HTTP/1.1\r\n"); // no byte 1..12 but 0x0a ("\n", 10) last
  d.push(garbage);
  assert.equal(rec.quarantines.length, 1, "one episode");
  assert.equal(rec.quarantines[0]!.code, "LEGACY_LAYOUT_UNDETECTED");
  assert.equal(rec.layouts.length, 0);
  assert.equal(d.inQuarantine, true);
  assert.ok(d.bufferedBytes <= 1, "only the candidate type byte 10 is held");
  d.push(concat([request(144, free), request(144, query)]));
  assert.equal(d.frameBytes, 144);
  assert.equal(rec.messages.length, 2);
  assert.deepEqual(
    rec.messages.map((m) => m.type),
    [TYPE.FREE, TYPE.QUERY],
  );
  assert.deepEqual(rec.resyncs, [{ discardedBytes: garbage.length, streamOffset: garbage.length }]);
  assert.equal(rec.quarantines.length, 1, "still one episode");
  assert.equal(d.inQuarantine, false);
});

test("auto: garbage that looks like a frame start for a while is dropped at its first broken rule", () => {
  const rec = recording();
  const d = new LegacyFrameDecoder({ frame: "auto" }, rec);
  const fake = new Uint8Array(60);
  fake[0] = TYPE.ALLOC; // a type byte, clean pads ... then data at offset 50 (a response field)
  fake[50] = 7;
  d.push(concat([fake, request(112, free), request(112, query)]));
  assert.equal(d.frameBytes, 112);
  assert.deepEqual(
    rec.messages.map((m) => m.type),
    [TYPE.FREE, TYPE.QUERY],
  );
  assert.equal(rec.quarantines.length, 1);
  assert.equal(rec.resyncs[0]!.discardedBytes, 60);
});

test("auto: a second 72-byte frame starting at byte 72 picks 72", () => {
  const rec = recording();
  const d = new LegacyFrameDecoder({ frame: "auto" }, rec);
  d.push(concat([request(72, free), request(72, query)]));
  assert.equal(d.frameBytes, 72);
  assert.match(rec.layouts[0]!.reason, /byte 72 is 3/);
  assert.equal(rec.messages.length, 2);
});

test("auto: a lone 72-byte frame is decided when the peer goes idle, or ends the stream", () => {
  const idle = recording();
  const a = new LegacyFrameDecoder({ frame: "auto" }, idle);
  a.push(request(72, query));
  assert.equal(a.awaitingIdleHint, true);
  assert.equal(idle.messages.length, 0);
  a.idle();
  assert.equal(a.frameBytes, 72);
  assert.match(idle.layouts[0]!.reason, /exactly 72 bytes, then waited/);
  assert.equal(idle.messages.length, 1);

  const ended = recording();
  const b = new LegacyFrameDecoder({ frame: "auto" }, ended);
  b.push(request(72, { ...query, type: TYPE.DUMP_REMAINING }));
  b.end();
  assert.equal(b.frameBytes, 72);
  assert.match(ended.layouts[0]!.reason, /exactly 72 bytes, then ended the stream/);
  assert.deepEqual(
    ended.messages.map((m) => m.type),
    [TYPE.DUMP_REMAINING],
  );
  assert.deepEqual(ended.truncated, []);
});

test("auto: the stream ending with a length no layout explains is a truncated frame", () => {
  const rec = recording();
  const d = new LegacyFrameDecoder({ frame: "auto" }, rec);
  d.push(request(144, free).subarray(0, 100));
  d.end();
  assert.equal(rec.messages.length, 0);
  assert.equal(rec.truncated[0]!.code, "LEGACY_TRUNCATED_FRAME");
});

test("auto: the stream ending after exactly 112 bytes decodes that frame", () => {
  const rec = recording();
  const d = new LegacyFrameDecoder({ frame: "auto" }, rec);
  d.push(request(112, free));
  d.end();
  assert.equal(rec.messages.length, 1);
  assert.deepEqual(rec.truncated, []);
});

test("fixed layout: reported once, as configuration", () => {
  const rec = recording();
  const d = new LegacyFrameDecoder({ frame: 144 }, rec);
  d.push(request(144, free));
  d.push(request(144, free));
  assert.deepEqual(rec.layouts, [{ frameBytes: 144, reason: "fixed by configuration" }]);
});
