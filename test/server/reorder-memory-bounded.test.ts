// Issue 9 finding 1: the reorder buffer is sized by what waits in it, never by a sequence number a client
// chose. One record far ahead costs one slot (or, beyond the reorder window, nothing: a resync at once);
// a thousand devices doing it leave /healthz fast; and every reorder buffer of the server together stays
// within the reorder budget (the sequencer that would grow past it drops the event and resyncs).
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeEvents } from "../../src/protocol/encode-frame.js";
import { type DeviceDescriptor, FrameType } from "../../src/protocol/frames.js";
import { RING_SLOT_BYTES } from "../../src/server/reorder-ring.js";
import { waitFor } from "../support/wait-for.js";
import { newSessionId, RawClient, TEST_DEVICE, testEvent } from "./raw-client.js";
import { startTestServer, type TestServer } from "./test-server.js";

const alloc = (deviceId: number, seq: number) => testEvent(seq, deviceId);
const devices = (from: number, count: number): DeviceDescriptor[] =>
  Array.from({ length: count }, (_, i) => ({ ...TEST_DEVICE, deviceId: from + i }));
const MiB = 1024 * 1024;

/** Typed-array memory of this process (the server runs in it), bytes. */
function arrayBufferBytes(): number {
  return process.memoryUsage().arrayBuffers;
}

/** Live allocations of a session, over its devices. */
function allocationsOf(server: TestServer, sessionId: string): number {
  const p = server.queries.summary().processes.find((s) => s.sessionId === sessionId);
  return p === undefined ? 0 : p.devices.reduce((n, d) => n + d.allocations, 0);
}

test("one record with seq 2^20 on a new device costs one slot, not a ring as wide as the distance", async () => {
  // A window as wide as the distance, so that the event is held rather than refused.
  const server = await startTestServer({ reorderCapacity: 2 ** 21 });
  try {
    const sessionId = newSessionId();
    const client = await RawClient.handshake(server.socketPath, { sessionId, devices: devices(0, 2) });
    const before = arrayBufferBytes();
    // seq 2^20 waits for seq 1 .. 2^20 - 1; seq 1 of device 1 is applied and marks the frame as handled.
    client.send(encodeEvents([alloc(0, 2 ** 20), alloc(1, 1)]));
    await waitFor(() => allocationsOf(server, sessionId) === 1, { what: "the frame to be handled" });
    const grown = arrayBufferBytes() - before;
    assert.ok(grown < 4 * MiB, `the held event took ${(grown / MiB).toFixed(1)} MiB`);
    const info = server.queries.summary().server;
    assert.ok(
      info.reorderBytes > 0 && info.reorderBytes <= 64 * RING_SLOT_BYTES,
      `${info.reorderBytes} bytes held`,
    );
    client.destroy();
    await waitFor(() => server.queries.summary().server.connections === 0, {
      what: "the connection to close",
    });
  } finally {
    await server.stop();
  }
});

test("1,000 device ids each sent a seq far ahead: /healthz answers at once, nothing is held, each resyncs", async () => {
  const server = await startTestServer();
  try {
    // 16 sessions of 63 devices: as many ids as a hostile process can name within the per-session limit.
    const sessions = Array.from({ length: 16 }, (_, s) => ({ sessionId: newSessionId(), first: s * 63 }));
    const clients = await Promise.all(
      sessions.map(({ sessionId, first }) =>
        RawClient.handshake(server.socketPath, { sessionId, devices: devices(first, 63) }),
      ),
    );
    const before = arrayBufferBytes();
    clients.forEach((client, s) => {
      const first = sessions[s].first;
      // Every device: seq 2^20 (far ahead), then one applied ALLOC that says the frame was handled.
      const far = Array.from({ length: 63 }, (_, d) => alloc(first + d, 2 ** 20));
      client.send(encodeEvents([...far, alloc(first, 1)]));
    });
    const started = performance.now();
    const health = await server.get("/healthz");
    const healthMs = performance.now() - started;
    assert.equal(health.status, 200);
    assert.ok(healthMs < 1000, `/healthz took ${healthMs.toFixed(0)} ms`);
    await waitFor(() => sessions.every(({ sessionId }) => allocationsOf(server, sessionId) === 1), {
      what: "every frame to be handled",
    });
    const grown = arrayBufferBytes() - before;
    assert.ok(grown < 16 * MiB, `1,008 far-ahead events took ${(grown / MiB).toFixed(1)} MiB`);
    const summary = server.queries.summary();
    assert.equal(summary.server.reorderBytes, 0, "nothing waits: far ahead is a gap, not storage");
    assert.equal(summary.recoveries.byKind.FAR_AHEAD, 16 * 63);
    assert.equal(summary.anomalies.total, 0, "a far-ahead number is a transport recovery, not an anomaly");
    for (const client of clients) {
      await client.waitFor((f) => f.type === FrameType.RESYNC_REQUEST);
      client.destroy();
    }
  } finally {
    await server.stop();
  }
});

test("the reorder budget bounds every session's buffers together: the one that would grow resyncs", async () => {
  // Room for the first 64 slots of one buffer only.
  const server = await startTestServer({ reorderBudgetBytes: 64 * RING_SLOT_BYTES, graceMs: 0 });
  try {
    const first = await RawClient.handshake(server.socketPath, { devices: devices(0, 1) });
    const second = await RawClient.handshake(server.socketPath, { devices: devices(0, 1) });
    // The first session holds 10 events waiting for its seq 1: the whole budget.
    first.send(encodeEvents(Array.from({ length: 10 }, (_, i) => alloc(0, i + 2))));
    await waitFor(() => server.queries.summary().server.reorderBytes === 64 * RING_SLOT_BYTES, {
      what: "the first session's buffer to take the budget",
    });
    // The second session's out-of-order event finds no room: dropped, resync asked at once.
    second.send(encodeEvents([alloc(0, 5)]));
    const request = await second.waitFor((f) => f.type === FrameType.RESYNC_REQUEST);
    assert.equal(request.type === FrameType.RESYNC_REQUEST && request.deviceId, 0);
    const summary = server.queries.summary();
    assert.equal(summary.recoveries.byKind.REORDER_OVERFLOW, 1);
    assert.equal(summary.server.reorderBytes, 64 * RING_SLOT_BYTES, "still within the budget");
    assert.equal(summary.anomalies.total, 0);
    // The first session's lag resolves and its bytes come back.
    first.send(encodeEvents([alloc(0, 1)]));
    await waitFor(() => server.queries.summary().processes.some((p) => p.devices[0]?.allocations === 11), {
      what: "the first session's events to be applied",
    });
    first.destroy();
    second.destroy();
    await waitFor(() => server.queries.summary().server.reorderBytes === 0, {
      what: "every reorder byte to be given back",
    });
  } finally {
    await server.stop();
  }
});
