import assert from "node:assert/strict";
import test from "node:test";
import { ConnectionState } from "../../src/protocol/connection-state.js";
import type { Frame } from "../../src/protocol/frames.js";

const HELLO: Frame = {
  type: 1,
  version: 1,
  sessionId: "ab".repeat(16),
  pid: 42,
  processStartTicks: 7,
  processName: "p",
  devices: [],
};
const WELCOME: Frame = { type: 2, version: 1, maxFrameBytes: 1 << 20 };
const EVENTS: Frame = { type: 3, count: 0, records: new Uint8Array(0) };
const RESYNC: Frame = { type: 7, deviceId: 0xffff, reason: "restart" };
const ERROR: Frame = { type: 8, code: "PROTO_BAD_MAGIC", message: "x" };
const GOODBYE: Frame = { type: 9 };
const begin = (deviceId: number, watermarkSeq: number, totalAllocations: number): Frame => ({
  type: 4,
  deviceId,
  watermarkSeq,
  totalAllocations,
});
const chunk = (deviceId: number, n: number): Frame => ({
  type: 5,
  deviceId,
  allocations: Array.from({ length: n }, (_, i) => ({
    allocationId: i,
    memoryType: 0,
    address: i,
    sizeBytes: 1,
  })),
});
const end = (deviceId: number, watermarkSeq: number): Frame => ({ type: 6, deviceId, watermarkSeq });

function run(
  side: "server" | "client",
  frames: Frame[],
): { codes: (string | undefined)[]; state: ConnectionState } {
  const state = new ConnectionState(side);
  return { codes: frames.map((f) => state.accept(f)?.code), state };
}

test("server side: a full client conversation is accepted", () => {
  const { codes, state } = run("server", [
    HELLO,
    EVENTS,
    begin(0, 10, 3),
    EVENTS, // events may interleave with a snapshot: the watermark sorts them out
    chunk(0, 2),
    chunk(0, 1),
    end(0, 10),
    begin(1, 0, 0),
    end(1, 0),
    EVENTS,
    GOODBYE,
  ]);
  assert.deepEqual(codes, new Array(11).fill(undefined));
  assert.equal(state.phase, "closed");
});

test("server side: snapshot progress is visible and cleared at END", () => {
  const state = new ConnectionState("server");
  state.accept(HELLO);
  assert.equal(state.snapshotInProgress, undefined);
  state.accept(begin(4, 1, 0));
  assert.equal(state.snapshotInProgress, 4);
  state.accept(end(4, 1));
  assert.equal(state.snapshotInProgress, undefined);
});

test("server side: violations", () => {
  const cases: [string, Frame[]][] = [
    ["frames after GOODBYE", [HELLO, GOODBYE, EVENTS]],
    ["a nested BEGIN", [HELLO, begin(0, 1, 1), begin(1, 1, 1)]],
    ["CHUNK for another device", [HELLO, begin(0, 1, 1), chunk(1, 1)]],
    ["CHUNK without BEGIN", [HELLO, chunk(0, 1)]],
    ["END without BEGIN", [HELLO, end(0, 1)]],
    ["RESYNC_REQUEST from a client", [HELLO, RESYNC]],
    ["ERROR from a client", [HELLO, ERROR]],
  ];
  for (const [name, frames] of cases) {
    const { codes, state } = run("server", frames);
    assert.equal(codes.at(-1), "PROTO_UNEXPECTED_FRAME", name);
    assert.deepEqual(codes.slice(0, -1), new Array(frames.length - 1).fill(undefined), name);
    assert.equal(state.accept(EVENTS), state.error, `${name}: stays failed`);
  }
});

test("client side: WELCOME then resync requests then ERROR", () => {
  const { codes, state } = run("client", [WELCOME, RESYNC, RESYNC, ERROR]);
  assert.deepEqual(codes, [undefined, undefined, undefined, undefined]);
  assert.equal(state.phase, "closed");
});

test("client side: an immediate ERROR (rejected HELLO) is accepted", () => {
  assert.deepEqual(run("client", [ERROR]).codes, [undefined]);
});

test("client side: violations", () => {
  assert.equal(run("client", [RESYNC]).codes[0], "PROTO_UNEXPECTED_FRAME");
  assert.equal(run("client", [WELCOME, WELCOME]).codes[1], "PROTO_UNEXPECTED_FRAME");
  assert.equal(run("client", [WELCOME, EVENTS]).codes[1], "PROTO_UNEXPECTED_FRAME");
  assert.equal(run("client", [ERROR, WELCOME]).codes[1], "PROTO_UNEXPECTED_FRAME");
});
