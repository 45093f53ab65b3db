// The live stream over real HTTP: the first message is the full summary, at most 4 messages a second
// whatever the event rate, slow readers dropped at the byte bound without harming the others, a bounded
// number of clients, and a server close that ends every stream.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { encodeEvents } from "../../src/protocol/encode-frame.js";
import type { AllocationEvent } from "../../src/protocol/event.js";
import type { DeviceDescriptor } from "../../src/protocol/frames.js";
import type { ApiErrorResponse } from "../../src/server/api-types.js";
import { waitFor } from "../support/wait-for.js";
import { RawClient, TEST_DEVICE } from "./raw-client.js";
import { SseClient } from "./sse-client.js";
import { startTestServer } from "./test-server.js";

/** Sends ALLOC/FREE pairs on device 0 as fast as the socket takes them, until `stop`. */
function flood(client: RawClient): { stop: () => void; events: () => number } {
  let seq = 1;
  let stopped = false;
  const pump = () => {
    while (!stopped) {
      const batch: AllocationEvent[] = [];
      for (let i = 0; i < 1000; i += 2) {
        const allocationId = seq;
        const common = { deviceId: 0, memoryType: 1 as const, allocationId, address: 0, timestampNs: 0 };
        batch.push({ op: 1, seq: seq++, sizeBytes: 4096, ...common });
        batch.push({ op: 2, seq: seq++, sizeBytes: 4096, ...common });
      }
      if (!client.socket.write(encodeEvents(batch))) {
        client.socket.once("drain", pump);
        return;
      }
    }
  };
  setImmediate(pump);
  return {
    stop: () => {
      stopped = true;
    },
    events: () => seq - 1,
  };
}

test("first message is the full summary; under a flood at most 4 messages a second, both kinds", async () => {
  const server = await startTestServer();
  const client = await RawClient.handshake(server.socketPath, { name: "flooder" });
  const sse = await SseClient.open(server.httpUrl!);
  try {
    assert.equal(sse.status, 200);
    await waitFor(() => sse.messages.length >= 1, { what: "the first message" });
    const first = sse.messages[0]!;
    assert.equal(first.type, "summary");
    assert.equal(first.data.devices[0].id, 0);
    assert.equal(first.data.processes[0].name, "flooder");

    const pusher = flood(client);
    await waitFor(() => server.queries.summary().server.eventsApplied > 10_000, { what: "the flood" });
    const start = performance.now();
    const countedFrom = sse.messages.length;
    await waitFor(() => performance.now() - start >= 2000, { what: "2 s of flood", intervalMs: 20 });
    const end = performance.now();
    pusher.stop();
    const window = sse.messages.slice(countedFrom).filter((m) => m.atMs >= start && m.atMs <= end);
    // Ticks every 250 ms: at most 9 fall within a closed 2-s window, one more when a busy test process
    // reads two at once at an edge. Sending per event (or per change) would give thousands.
    assert.ok(window.length <= 10, `${window.length} messages in 2 s`);
    assert.ok(window.length >= 4, `only ${window.length} messages in 2 s while usage changed`);
    const types = new Set(window.map((m) => m.type));
    assert.deepEqual([...types].sort(), ["series", "summary"]);
    const increments = window.filter((m) => m.type === "series").map((m) => m.data);
    assert.equal(increments[0].bucketMs, 1000);
    // Every second of the flood peaked at 4096; the newest bucket of an increment may be a second that
    // has just begun, before the flood's next events were applied (the 1-s roll-over and the 250-ms tick
    // can fire in one turn): all 0 then.
    type Bucket = { min: number; max: number; last: number };
    const begun = (b: Bucket) => b.min === 0 && b.max === 0 && b.last === 0;
    let peaks = 0;
    for (const increment of increments) {
      const l1: Bucket[] = increment.devices[0]?.used.L1 ?? [];
      l1.forEach((b, i) => {
        if (b.max === 4096) peaks++;
        else assert.ok(i === l1.length - 1 && begun(b), JSON.stringify(l1));
      });
    }
    assert.ok(peaks >= 1, "the flood's seconds show its 4096 bytes");
    assert.ok(server.queries.summary().server.eventsApplied > 50_000, "the flood was a flood");
  } finally {
    sse.destroy();
    client.destroy();
    await server.stop();
  }
});

test("a quiet server sends nothing but heartbeats", async () => {
  const server = await startTestServer({ streamLimits: { heartbeatMs: 300 } });
  const sse = await SseClient.open(server.httpUrl!);
  try {
    await waitFor(() => sse.comments >= 2, { what: "two heartbeats" });
    assert.deepEqual(
      sse.messages.map((m) => m.type),
      ["summary"],
    );
  } finally {
    sse.destroy();
    await server.stop();
  }
});

/** 64 devices with long names per session: summaries of a few hundred kilobytes. */
function manyDevices(first: number): DeviceDescriptor[] {
  return Array.from({ length: 64 }, (_, i) => ({
    ...TEST_DEVICE,
    deviceId: first + i,
    name: `device-${first + i}-`.padEnd(120, "x"),
  }));
}

test("a reader that stops reading is dropped at the byte bound; the others keep their stream", async () => {
  const maxUnsentBytes = 256 * 1024;
  const server = await startTestServer({ streamLimits: { maxUnsentBytes } });
  const clients: RawClient[] = [];
  try {
    for (let s = 0; s < 8; s++) {
      clients.push(await RawClient.handshake(server.socketPath, { devices: manyDevices(1 + s * 64) }));
    }
    const summaryBytes = JSON.stringify(server.queries.summary()).length;
    assert.ok(summaryBytes > 200_000, `summary of ${summaryBytes} bytes`);
    const healthy = await SseClient.open(server.httpUrl!);
    // The slow reader: sends its request, then never reads a byte.
    const slow = connect(server.httpAddress!.port, "127.0.0.1");
    slow.on("error", () => {});
    slow.write("GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    slow.pause();
    await waitFor(() => server.stream!.clientCount === 2, { what: "two stream clients" });
    const pusher = flood(await RawClient.handshake(server.socketPath, { name: "flooder" }));
    try {
      await waitFor(() => server.stream!.droppedSlowReaders === 1, {
        what: "the slow reader to be dropped",
        timeoutMs: 30_000,
      });
      assert.equal(server.stream!.clientCount, 1);
      const received = healthy.messages.length;
      await waitFor(() => healthy.messages.length >= received + 2, { what: "the healthy client to go on" });
      assert.ok(healthy.messages.every((m) => m.data !== undefined));
    } finally {
      pusher.stop();
      healthy.destroy();
      slow.destroy();
    }
  } finally {
    for (const c of clients) c.destroy();
    await server.stop();
  }
});

test("the 65th stream client gets 503 with the API error shape; a freed place is taken again", async () => {
  const server = await startTestServer();
  const streams: SseClient[] = [];
  try {
    for (let i = 0; i < 64; i++) streams.push(await SseClient.open(server.httpUrl!));
    assert.ok(streams.every((s) => s.status === 200));
    const refused = await fetch(`${server.httpUrl}/api/v1/stream`);
    assert.equal(refused.status, 503);
    const body = (await refused.json()) as ApiErrorResponse;
    assert.equal(body.error.code, "HTTP_TOO_MANY_STREAMS");
    assert.match(body.error.message, /64 streams/);
    streams.pop()!.destroy();
    await waitFor(() => server.stream!.clientCount === 63, { what: "the closed stream to leave" });
    const again = await SseClient.open(server.httpUrl!);
    streams.push(again);
    assert.equal(again.status, 200);
  } finally {
    for (const s of streams) s.destroy();
    await server.stop();
  }
});

test("stream requests are refused like every route: foreign Host, unknown parameters", async () => {
  const server = await startTestServer();
  try {
    const params = await fetch(`${server.httpUrl}/api/v1/stream?x=1`);
    assert.equal(params.status, 400);
    assert.equal(((await params.json()) as ApiErrorResponse).error.code, "HTTP_BAD_REQUEST");
    const post = await fetch(`${server.httpUrl}/api/v1/stream`, { method: "POST" });
    assert.equal(post.status, 405);
    const head = await fetch(`${server.httpUrl}/api/v1/stream`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.match(head.headers.get("content-type") ?? "", /^text\/event-stream/);
    const foreign = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.httpAddress!.port, "127.0.0.1");
      let text = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        text += chunk;
      });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
      socket.write("GET /api/v1/stream HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n");
    });
    assert.match(foreign, /^HTTP\/1\.1 403/);
    assert.match(foreign, /HTTP_HOST_NOT_ALLOWED/);
    assert.equal(server.stream!.clientCount, 0);
  } finally {
    await server.stop();
  }
});

test("closing the server ends every stream cleanly", async () => {
  const server = await startTestServer();
  const streams = [await SseClient.open(server.httpUrl!), await SseClient.open(server.httpUrl!)];
  await waitFor(() => streams.every((s) => s.messages.length === 1), { what: "first summaries" });
  await server.stop();
  await Promise.all(streams.map((s) => s.closed));
  assert.ok(
    streams.every((s) => s.endedCleanly),
    "each response ended (chunked end), not reset",
  );
  assert.equal(server.stream!.clientCount, 0);
});
