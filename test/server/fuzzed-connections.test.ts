// docs/DESIGN.md invariant 4: no input crashes the server. Random bytes and mutated valid streams, in random
// chunks, over real connections: each either stays open or gets an ERROR frame and a close; the server keeps
// answering and a well-behaved client still gets exact service afterwards.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import {
  encodeEvents,
  encodeSnapshotBegin,
  encodeSnapshotChunk,
  encodeSnapshotEnd,
} from "../../src/protocol/encode-frame.js";
import { type ErrorFrame, FrameType } from "../../src/protocol/frames.js";
import { waitFor } from "../support/wait-for.js";
import { helloBytes, newSessionId, RawClient } from "./raw-client.js";
import { startTestServer, type TestServer } from "./test-server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer({ gapTimeoutMs: 50 });
});
after(async () => {
  await server.stop();
});

function validStream(): Uint8Array {
  const parts = [
    helloBytes({ sessionId: newSessionId() }),
    encodeEvents(
      [1, 2, 3].map((seq) => ({
        op: 1 as const,
        deviceId: 0,
        memoryType: 0 as const,
        seq,
        allocationId: seq,
        address: seq * 64,
        sizeBytes: 64,
        timestampNs: 0,
      })),
    ),
    encodeSnapshotBegin({ deviceId: 0, watermarkSeq: 3, totalAllocations: 1 }),
    encodeSnapshotChunk({
      deviceId: 0,
      allocations: [{ allocationId: 1, memoryType: 0, address: 64, sizeBytes: 64 }],
    }),
    encodeSnapshotEnd({ deviceId: 0, watermarkSeq: 3 }),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const inputArb = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 300 }),
  fc
    .array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 })
    .map((mutations) => {
      const bytes = validStream();
      for (const [at, value] of mutations) bytes[at % bytes.length] = value;
      return bytes;
    }),
);

test("random and mutated input never crashes the server nor disturbs others", async () => {
  await fc.assert(
    fc.asyncProperty(
      inputArb,
      fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 8 }),
      async (bytes, cuts) => {
        const client = await RawClient.connect(server.socketPath);
        let at = 0;
        for (const cut of cuts) {
          if (at >= bytes.length) break;
          client.send(bytes.subarray(at, at + cut));
          at += cut;
        }
        if (at < bytes.length) client.send(bytes.subarray(at));
        client.end();
        await client.closed;
        const error = client.frames.find((f) => f.type === FrameType.ERROR) as ErrorFrame | undefined;
        if (error !== undefined)
          assert.match(error.code, /^(PROTO|SERVER)_[A-Z0-9_]+$/, JSON.stringify(error));
      },
    ),
    { numRuns: 60 },
  );
  const health = await server.get("/healthz");
  assert.equal(health.status, 200);
  const sessionId = newSessionId();
  const good = await RawClient.handshake(server.socketPath, { sessionId });
  good.send(
    encodeEvents([
      {
        op: 1,
        deviceId: 0,
        memoryType: 0,
        seq: 1,
        allocationId: 9,
        address: 0,
        sizeBytes: 7,
        timestampNs: 0,
      },
    ]),
  );
  const mine = () =>
    server.queries.summary().processes.find((p) => p.sessionId === sessionId)?.devices[0]?.used.DRAM;
  await waitFor(() => mine() === 7, { what: "the well-behaved client's allocation" });
  assert.equal(mine(), 7);
  good.destroy();
});

test("close() sends ERROR(SERVER_SHUTTING_DOWN) to connected clients and removes the socket", async () => {
  const own = await startTestServer();
  const client = await RawClient.handshake(own.socketPath);
  await own.close();
  const frame = (await client.waitFor((f) => f.type === FrameType.ERROR)) as ErrorFrame;
  assert.equal(frame.code, "SERVER_SHUTTING_DOWN");
  await client.closed;
  await own.stop();
});
