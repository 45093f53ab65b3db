import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import test from "node:test";
import { ProtocolErrorCode } from "../../src/protocol/errors.js";
import { ServerErrorCode } from "../../src/server/errors.js";
import { repoRoot } from "../support/repo-files.js";
import { CONTEXT_HEX, EVENTS_HEX, HELLO_HEX, HELLO_V3_HEX } from "./golden-vectors.js";
import { decodeChunked, fromHex, hex } from "./wire-fixtures.js";

// docs/PROTOCOL.md is the spec other-language clients are written from: its worked examples must be
// the golden vectors, and its error table must list exactly our codes.

const doc = readFileSync(join(repoRoot(import.meta.url), "docs", "PROTOCOL.md"), "utf8");

test("the worked hex examples are the HELLO, EVENTS and version 3 golden vectors and decode cleanly", () => {
  const blocks = [...doc.matchAll(/```hex\n([\s\S]*?)```/g)].map((m) => fromHex(m[1]));
  assert.equal(blocks.length, 3);
  assert.equal(hex(blocks[0]), hex(fromHex(HELLO_HEX)));
  assert.equal(hex(blocks[1]), hex(fromHex(EVENTS_HEX)));
  assert.ok(hex(blocks[2]).startsWith(hex(fromHex(CONTEXT_HEX))));
  for (const block of blocks.slice(0, 2)) assert.equal(decodeChunked(block).code, undefined);
  // The version 3 example decodes after a version 3 HELLO, and is refused after a version 2 one.
  const v3 = decodeChunked(fromHex(HELLO_V3_HEX + hex(blocks[2])));
  assert.equal(v3.code, undefined);
  assert.deepEqual(v3.frames[1], { type: 10, contextId: 1, text: "ttnn.matmul" });
  assert.equal(decodeChunked(fromHex(HELLO_HEX + hex(blocks[2]))).code, ProtocolErrorCode.UNKNOWN_FRAME_TYPE);
});

test("the inline WELCOME and GOODBYE examples decode", () => {
  assert.deepEqual(decodeChunked(fromHex("0b000000 02 41574348 0200 00001000")).frames, [
    { type: 2, version: 2, maxFrameBytes: 1 << 20 },
  ]);
  assert.ok(doc.includes("`0b000000 02 41574348 0200 00001000`"));
  assert.ok(doc.includes("`01000000 09`"));
});

test("the error table lists exactly the ProtocolErrorCode values", () => {
  const listed = [...doc.matchAll(/^\| (PROTO_[A-Z0-9_]+) +\|/gm)].map((m) => m[1]).sort();
  assert.deepEqual(listed, Object.values(ProtocolErrorCode).sort());
});

// Codes a server sends in ERROR frames (the others are local: options, listening, the history file).
const LOCAL_SERVER_CODES = new Set<string>([
  ServerErrorCode.INVALID_OPTION,
  ServerErrorCode.ALREADY_RUNNING,
  ServerErrorCode.SOCKET_PATH_OCCUPIED,
  ServerErrorCode.LISTEN_FAILED,
  ServerErrorCode.HISTORY_UNWRITABLE,
  ServerErrorCode.HISTORY_CORRUPT,
  ServerErrorCode.HISTORY_LOCKED,
  ServerErrorCode.HISTORY_NEWER_SCHEMA,
]);

test("the server code table lists exactly the ServerErrorCode values sent in ERROR frames", () => {
  const listed = [...doc.matchAll(/^\| (SERVER_[A-Z0-9_]+) +\|/gm)].map((m) => m[1]).sort();
  const wire = Object.values(ServerErrorCode)
    .filter((code) => !LOCAL_SERVER_CODES.has(code))
    .sort();
  assert.deepEqual(listed, wire);
});
