// --legacy-frame auto: the layout is chosen from the bytes (byte 112 decides), or from an idle peer
// that sent exactly 112 bytes and waits for a reply; the choice and its reason are reported.
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

test("auto: zero at byte 112 (response fields of the first frame) picks 144", () => {
  const rec = recording();
  const d = new LegacyFrameDecoder({ frame: "auto" }, rec);
  d.push(request(144, free).subarray(0, 113));
  assert.equal(d.frameBytes, 144);
  assert.match(rec.layouts[0]!.reason, /byte 112 is 0/);
  assert.equal(rec.messages.length, 0, "no message before the frame is whole");
  d.push(request(144, free).subarray(113));
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

test("auto: a first byte that is no message type cannot anchor a layout: fatal", () => {
  const rec = recording();
  const d = new LegacyFrameDecoder({ frame: "auto" }, rec);
  d.push(Uint8Array.of(0x47, 0x45, 0x54, 0x20)); // "GET "
  assert.equal(rec.fatal[0]!.code, "LEGACY_LAYOUT_UNDETECTED");
  assert.equal(rec.layouts.length, 0);
});

test("auto: the stream ending after exactly 112 bytes decodes that frame", () => {
  const rec = recording();
  const d = new LegacyFrameDecoder({ frame: "auto" }, rec);
  d.push(request(112, free));
  d.end();
  assert.equal(rec.messages.length, 1);
  assert.deepEqual(rec.fatal, []);
});

test("fixed layout: reported once, as configuration", () => {
  const rec = recording();
  const d = new LegacyFrameDecoder({ frame: 144 }, rec);
  d.push(request(144, free));
  d.push(request(144, free));
  assert.deepEqual(rec.layouts, [{ frameBytes: 144, reason: "fixed by configuration" }]);
});
