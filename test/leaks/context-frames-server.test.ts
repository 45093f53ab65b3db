// The server's side of allocation contexts (docs/PROTOCOL.md §3.8): a CONTEXT frame names an id for the
// session, ALLOC records and snapshot entries cite it, /api/v1/devices/:id/allocations shows it. Bad
// definitions cost labels or the one connection, never an allocation.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import {
  encodeContext,
  encodeSnapshotBegin,
  encodeSnapshotChunk,
  encodeSnapshotEnd,
} from "../../src/protocol/encode-frame.js";
import { EventBatchEncoder } from "../../src/protocol/event-batch-encoder.js";
import { FrameType } from "../../src/protocol/frames.js";
import type { AllocationsResponse, AnomaliesResponse } from "../../src/server/api-types.js";
import { freePort, getJson, runCli, scratch, startServerProcess } from "../e2e/harness.js";
import { newSessionId, RawClient } from "../server/raw-client.js";
import { startTestServer, type TestServer } from "../server/test-server.js";
import { waitFor } from "../support/wait-for.js";

/** One EVENTS frame of ALLOCs on device 0 (DRAM), [allocationId, contextId] each; seqs from `firstSeq`. */
function allocs(firstSeq: number, pairs: [allocationId: number, contextId: number][]): Uint8Array {
  const encoder = new EventBatchEncoder(Math.max(1, pairs.length));
  for (const [i, [id, contextId]] of pairs.entries()) {
    encoder.append(1, 0, 0, firstSeq + i, id, id * 4096, 4096, 0, contextId);
  }
  return encoder.finish();
}

async function contextsOf(server: TestServer, sessionId: string): Promise<Map<number, string>> {
  const { body } = (await server.get(`/api/v1/devices/0/allocations?limit=100&session=${sessionId}`)) as {
    body: AllocationsResponse;
  };
  return new Map(body.allocations.map((a) => [a.allocationId, a.context]));
}

async function anomalies(server: TestServer): Promise<Record<string, number>> {
  return ((await server.get("/api/v1/anomalies")).body as AnomaliesResponse).byKind;
}

test("contexts defined, cited by ALLOCs, shown per allocation; an unknown id is an anomaly, the allocation kept", async () => {
  const server = await startTestServer();
  try {
    const sessionId = newSessionId();
    const client = await RawClient.handshake(server.socketPath, { sessionId });
    client.send(encodeContext({ contextId: 1, text: "ttnn.matmul" }));
    client.send(encodeContext({ contextId: 7, text: "ttnn.conv2d" }));
    // A repeat with the same text (a reconnecting client) changes nothing; another text conflicts.
    client.send(encodeContext({ contextId: 1, text: "ttnn.matmul" }));
    client.send(encodeContext({ contextId: 7, text: "something else" }));
    client.send(
      allocs(1, [
        [1, 1],
        [2, 7],
        [3, 0],
        [4, 99],
      ]),
    );
    const contexts = await waitFor(
      async () => {
        const c = await contextsOf(server, sessionId);
        return c.size === 4 ? c : undefined;
      },
      { what: "the 4 allocations" },
    );
    assert.deepEqual(
      [...contexts].sort((a, b) => a[0] - b[0]),
      [
        [1, "ttnn.matmul"],
        [2, "ttnn.conv2d"],
        [3, ""],
        [4, ""],
      ],
    );
    const kinds = await anomalies(server);
    assert.equal(kinds.UNKNOWN_CONTEXT, 1);
    assert.equal(kinds.CONTEXT_CONFLICT, 1);
    assert.ok(client.isOpen, "anomalies do not close the connection");
    client.destroy();
  } finally {
    await server.stop();
  }
});

test("past the session's context limit a definition is dropped (CONTEXT_LIMIT), its allocations kept", async () => {
  const server = await startTestServer({ maxContextsPerSession: 2 });
  try {
    const sessionId = newSessionId();
    const client = await RawClient.handshake(server.socketPath, { sessionId });
    for (let id = 1; id <= 3; id++) client.send(encodeContext({ contextId: id, text: `op${id}` }));
    client.send(
      allocs(1, [
        [1, 1],
        [2, 2],
        [3, 3],
      ]),
    );
    const contexts = await waitFor(
      async () => {
        const c = await contextsOf(server, sessionId);
        return c.size === 3 ? c : undefined;
      },
      { what: "the 3 allocations" },
    );
    assert.deepEqual([contexts.get(1), contexts.get(2), contexts.get(3)], ["op1", "op2", ""]);
    const kinds = await anomalies(server);
    assert.equal(kinds.CONTEXT_LIMIT, 1);
    assert.equal(kinds.UNKNOWN_CONTEXT, 1);
    client.destroy();
  } finally {
    await server.stop();
  }
});

for (const [what, bytes, code] of [
  ["a text of 257 bytes", Uint8Array.from([7, 0, 0, 0, 10, 1, 0, 0, 0, 0x01, 0x01]), "PROTO_STRING_TOO_LONG"],
  [
    "a text that is not UTF-8",
    Uint8Array.from([9, 0, 0, 0, 10, 1, 0, 0, 0, 2, 0, 0xc3, 0x28]),
    "PROTO_BAD_UTF8",
  ],
  ["context id 0", Uint8Array.from([7, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0]), "PROTO_INVALID_FIELD"],
] as const) {
  test(`a CONTEXT frame with ${what}: ${code} closes that connection; the session's allocations stay`, async () => {
    const server = await startTestServer();
    try {
      const sessionId = newSessionId();
      const client = await RawClient.handshake(server.socketPath, { sessionId });
      client.send(encodeContext({ contextId: 1, text: "ttnn.add" }));
      client.send(allocs(1, [[1, 1]]));
      await waitFor(async () => (await contextsOf(server, sessionId)).size === 1, { what: "the allocation" });
      client.send(bytes);
      const error = await client.waitFor((f) => f.type === FrameType.ERROR);
      assert.equal(error.type === FrameType.ERROR && error.code, code);
      await client.closed;
      // The session waits out its grace with what it held, context included.
      assert.deepEqual([...(await contextsOf(server, sessionId))], [[1, "ttnn.add"]]);
    } finally {
      await server.stop();
    }
  });
}

test("a version 2 connection may not send CONTEXT nor cite one (the bytes are reserved there)", async () => {
  const server = await startTestServer();
  try {
    const v2 = await RawClient.handshake(server.socketPath, { version: 2 });
    const welcome = await v2.waitFor((f) => f.type === FrameType.WELCOME);
    assert.equal(welcome.type === FrameType.WELCOME && welcome.version, 2);
    v2.send(encodeContext({ contextId: 1, text: "x" }));
    const error = await v2.waitFor((f) => f.type === FrameType.ERROR);
    assert.equal(error.type === FrameType.ERROR && error.code, "PROTO_UNKNOWN_FRAME_TYPE");
    const cites = await RawClient.handshake(server.socketPath, { version: 2 });
    cites.send(allocs(1, [[1, 1]]));
    const refused = await cites.waitFor((f) => f.type === FrameType.ERROR);
    assert.equal(refused.type === FrameType.ERROR && refused.code, "PROTO_RESERVED_NOT_ZERO");
  } finally {
    await server.stop();
  }
});

test("a snapshot carries its entries' contexts; an entry citing an unknown id keeps its bytes", async () => {
  const server = await startTestServer();
  try {
    const sessionId = newSessionId();
    const client = await RawClient.handshake(server.socketPath, { sessionId });
    client.send(encodeContext({ contextId: 3, text: "ttnn.embedding" }));
    client.send(encodeSnapshotBegin({ deviceId: 0, watermarkSeq: 5, totalAllocations: 2 }));
    client.send(
      encodeSnapshotChunk({
        deviceId: 0,
        allocations: [
          { allocationId: 10, memoryType: 0, address: 0, sizeBytes: 1024, contextId: 3 },
          { allocationId: 11, memoryType: 1, address: 64, sizeBytes: 64, contextId: 4 },
        ],
      }),
    );
    client.send(encodeSnapshotEnd({ deviceId: 0, watermarkSeq: 5 }));
    const contexts = await waitFor(
      async () => {
        const c = await contextsOf(server, sessionId);
        return c.size === 2 ? c : undefined;
      },
      { what: "the snapshot" },
    );
    assert.deepEqual([contexts.get(10), contexts.get(11)], ["ttnn.embedding", ""]);
    assert.equal((await anomalies(server)).UNKNOWN_CONTEXT, 1);
    client.destroy();
  } finally {
    await server.stop();
  }
});

test("serve --max-contexts-per-session sets the limit; 0 is refused", { timeout: 30_000 }, async () => {
  const { dir, cleanup } = scratch();
  try {
    const refused = await runCli([
      "serve",
      "--socket",
      join(dir, "x.sock"),
      "--max-contexts-per-session",
      "0",
    ]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /--max-contexts-per-session/);
    const server = await startServerProcess(join(dir, "s.sock"), await freePort(), [
      "--max-contexts-per-session",
      "1",
    ]);
    try {
      const client = await RawClient.handshake(join(dir, "s.sock"));
      client.send(encodeContext({ contextId: 1, text: "a" }));
      client.send(encodeContext({ contextId: 2, text: "b" }));
      await waitFor(
        async () =>
          ((await getJson<AnomaliesResponse>(`${server.url}/api/v1/anomalies`)).byKind.CONTEXT_LIMIT ?? 0) ===
          1,
        { what: "the CONTEXT_LIMIT anomaly" },
      );
      client.destroy();
    } finally {
      server.kill("SIGKILL");
      await server.exited;
    }
  } finally {
    cleanup();
  }
});
