// docs/DESIGN.md invariant 4 (robust): garbage, a truncated frame, an oversized length, a wrong version, or
// frames out of order each get an ERROR frame and a close; another connected client's view is unaffected.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { encodeEvents, encodeHello } from "../../src/protocol/encode-frame.js";
import { type ErrorFrame, FrameType } from "../../src/protocol/frames.js";
import { waitFor } from "../support/wait-for.js";
import { helloBytes, newSessionId, RawClient, TEST_DEVICE } from "./raw-client.js";
import { startTestServer, type TestServer, WITHOUT_PEER_CREDENTIALS } from "./test-server.js";

let server: TestServer;
let good: RawClient;
let goodSeq = 0;
const goodSession = newSessionId();

function goodAlloc(id: number) {
  return {
    op: 1 as const,
    deviceId: 0,
    memoryType: 0 as const,
    seq: ++goodSeq,
    allocationId: id,
    address: id * 4096,
    sizeBytes: 1000,
    timestampNs: 0,
  };
}

async function goodAllocations(): Promise<number> {
  const { body } = await server.get("/api/v1/summary");
  const p = body.processes.find((p: { sessionId: string }) => p.sessionId === goodSession);
  return p.devices[0].allocations;
}

before(async () => {
  // One HELLO below claims another pid; the kernel's check of it has its own test (peer-credentials).
  server = await startTestServer({ peerCredentials: WITHOUT_PEER_CREDENTIALS });
  good = await RawClient.handshake(server.socketPath, { sessionId: goodSession });
  good.send(encodeEvents([goodAlloc(1), goodAlloc(2), goodAlloc(3)]));
  await waitFor(() => server.queries.summary().devices[0]?.allocations === 3, {
    what: "the good client's 3 allocations",
  });
  assert.equal(await goodAllocations(), 3);
});

after(async () => {
  good.destroy();
  await server.stop();
});

async function expectErrorAndClose(bytes: Uint8Array[], code: string, endAfter = false): Promise<void> {
  const errorsBefore = server.queries.summary().server.protocolErrors;
  const bad = await RawClient.connect(server.socketPath);
  for (const b of bytes) bad.send(b);
  if (endAfter) bad.end();
  const frame = (await bad.waitFor((f) => f.type === FrameType.ERROR)) as ErrorFrame;
  assert.equal(frame.code, code, frame.message);
  assert.ok(frame.message.length > 0);
  await bad.closed;
  assert.equal(server.queries.summary().server.protocolErrors, errorsBefore + 1);
  // The other client carries on: same view, still open, and its next events apply.
  assert.ok(good.isOpen);
  assert.equal(await goodAllocations(), 3 + (goodSeq - 3));
  good.send(encodeEvents([goodAlloc(goodSeq + 1)]));
  await waitFor(async () => (await goodAllocations()) === goodSeq, {
    what: `the good client's allocation ${goodSeq}`,
  });
  assert.equal(await goodAllocations(), goodSeq);
}

test("garbage (an unknown frame type) gets PROTO_UNKNOWN_FRAME_TYPE", async () => {
  await expectErrorAndClose([Uint8Array.from([5, 0, 0, 0, 0xee, 1, 2, 3, 4])], "PROTO_UNKNOWN_FRAME_TYPE");
});

test("text sent to the socket reads as an oversized length", async () => {
  await expectErrorAndClose([new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n")], "PROTO_FRAME_TOO_LARGE");
});

test("an oversized length is refused from the 4 length bytes alone", async () => {
  await expectErrorAndClose([Uint8Array.from([0xff, 0xff, 0xff, 0x7f])], "PROTO_FRAME_TOO_LARGE");
});

test("a truncated frame followed by end of stream gets PROTO_TRUNCATED_FRAME", async () => {
  const hello = helloBytes();
  await expectErrorAndClose([hello.subarray(0, hello.length - 5)], "PROTO_TRUNCATED_FRAME", true);
});

test("a HELLO with another protocol version gets PROTO_UNSUPPORTED_VERSION", async () => {
  const hello = encodeHello({
    version: 99,
    sessionId: newSessionId(),
    resumeSecret: newSessionId(),
    pid: process.pid,
    processStartTicks: 0,
    processName: "future",
    devices: [TEST_DEVICE],
  });
  await expectErrorAndClose([hello], "PROTO_UNSUPPORTED_VERSION");
});

test("events before HELLO get PROTO_UNEXPECTED_FRAME", async () => {
  const event = {
    op: 1 as const,
    deviceId: 0,
    memoryType: 0 as const,
    seq: 1,
    allocationId: 1,
    address: 0,
    sizeBytes: 1,
    timestampNs: 0,
  };
  await expectErrorAndClose([encodeEvents([event])], "PROTO_UNEXPECTED_FRAME");
});

test("a second HELLO on one connection gets PROTO_UNEXPECTED_FRAME", async () => {
  await expectErrorAndClose([helloBytes(), helloBytes()], "PROTO_UNEXPECTED_FRAME");
});

test("a HELLO reusing a live session id from another pid gets SERVER_SESSION_CONFLICT", async () => {
  await expectErrorAndClose(
    [helloBytes({ sessionId: goodSession, pid: process.pid + 1 })],
    "SERVER_SESSION_CONFLICT",
  );
});

test("every failure was counted as a PROTOCOL_ERROR anomaly", async () => {
  const { body } = await server.get("/api/v1/anomalies");
  assert.equal(body.byKind.PROTOCOL_ERROR, 8);
  assert.equal(body.recent[0].kind, "PROTOCOL_ERROR");
});
