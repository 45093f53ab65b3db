import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { ProtocolErrorCode } from "../../src/protocol/errors.js";
import { EVENTS_HEX, HELLO_HEX } from "./golden-vectors.js";
import { decodeChunked, fromHex, hex } from "./wire-fixtures.js";

// docs/PROTOCOL.md is the spec other-language clients are written from: its worked examples must be
// the golden vectors, and its error table must list exactly our codes.

function repoRoot(): string {
  // The compiled test lives in <outDir>/test/protocol; walk up to the folder that has docs/PROTOCOL.md.
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "docs", "PROTOCOL.md"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("docs/PROTOCOL.md not found above the test");
    dir = parent;
  }
  return dir;
}

const doc = readFileSync(join(repoRoot(), "docs", "PROTOCOL.md"), "utf8");

test("the worked hex examples are the HELLO and EVENTS golden vectors and decode cleanly", () => {
  const blocks = [...doc.matchAll(/```hex\n([\s\S]*?)```/g)].map((m) => fromHex(m[1]));
  assert.equal(blocks.length, 2);
  assert.equal(hex(blocks[0]), hex(fromHex(HELLO_HEX)));
  assert.equal(hex(blocks[1]), hex(fromHex(EVENTS_HEX)));
  for (const block of blocks) assert.equal(decodeChunked(block).code, undefined);
});

test("the inline WELCOME and GOODBYE examples decode", () => {
  assert.deepEqual(decodeChunked(fromHex("0b000000 02 41574348 0100 00001000")).frames, [
    { type: 2, version: 1, maxFrameBytes: 1 << 20 },
  ]);
  assert.ok(doc.includes("`0b000000 02 41574348 0100 00001000`"));
  assert.ok(doc.includes("`01000000 09`"));
});

test("the error table lists exactly the ProtocolErrorCode values", () => {
  const listed = [...doc.matchAll(/^\| (PROTO_[A-Z0-9_]+) +\|/gm)].map((m) => m[1]).sort();
  assert.deepEqual(listed, Object.values(ProtocolErrorCode).sort());
});
