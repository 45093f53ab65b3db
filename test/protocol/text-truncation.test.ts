import assert from "node:assert/strict";
import test from "node:test";
import fc from "fast-check";
import { encodeError, encodeResyncRequest } from "../../src/protocol/encode-frame.js";
import { MAX_ERROR_MESSAGE_BYTES, MAX_RESYNC_REASON_BYTES } from "../../src/protocol/layout.js";
import { arbText, decodeChunked } from "./wire-fixtures.js";

// A side that is closing a connection must be able to say why: ERROR messages and RESYNC reasons are
// cut to their limit at a character boundary instead of making the encoder throw.

const utf8 = new TextEncoder();

test("an over-long ERROR message is cut at a character boundary to at most the limit", () => {
  fc.assert(
    fc.property(arbText(64), fc.integer({ min: 1, max: 2000 }), (unit, repeat) => {
      const message = unit.repeat(repeat);
      const { frames, code } = decodeChunked(encodeError({ code: "SERVER_CLOSING", message }));
      assert.equal(code, undefined);
      const decoded = (frames[0] as { message: string }).message;
      assert.ok(message.startsWith(decoded));
      assert.ok(utf8.encode(decoded).length <= MAX_ERROR_MESSAGE_BYTES);
      if (utf8.encode(message).length <= MAX_ERROR_MESSAGE_BYTES) assert.equal(decoded, message);
      else
        assert.ok(
          utf8.encode(decoded).length > MAX_ERROR_MESSAGE_BYTES - 4,
          "cut no more than one character",
        );
    }),
    { numRuns: 200 },
  );
});

test("an over-long RESYNC reason is cut the same way", () => {
  const reason = "é".repeat(MAX_RESYNC_REASON_BYTES); // 2 bytes each: twice the limit
  const { frames, code } = decodeChunked(encodeResyncRequest({ deviceId: 1, reason }));
  assert.equal(code, undefined);
  assert.equal((frames[0] as { reason: string }).reason, "é".repeat(MAX_RESYNC_REASON_BYTES / 2));
});
