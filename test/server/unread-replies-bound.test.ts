// Issue 9, finding 5: what the server sends a client that does not read stays bounded. A RESYNC_REQUEST
// is not repeated while it is unanswered (the sequencer's retries used to pile up one frame per gap
// timeout), and a connection whose unread replies pass maxOutboundBytes is dropped, its bytes counted in
// the shared buffer budget meanwhile; the session heals through the normal resync path on reconnect.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  encodeEvents,
  encodeSnapshotBegin,
  encodeSnapshotChunk,
  encodeSnapshotEnd,
} from "../../src/protocol/encode-frame.js";
import { FrameType, type ResyncRequestFrame } from "../../src/protocol/frames.js";
import { writeU32 } from "../../src/protocol/little-endian.js";
import { ManualTimers } from "../../src/server/timers.js";
import { waitFor } from "../support/wait-for.js";
import { newSessionId, RawClient, testEvent } from "./raw-client.js";
import { startTestServer, type TestServer } from "./test-server.js";

const GAP_TIMEOUT_MS = 100;

const event = (seq: number) => testEvent(seq);

/** A snapshot of device 0 holding allocations 1..watermark (what event(1..watermark) allocated). */
function snapshotThrough(watermarkSeq: number): Uint8Array[] {
  const allocations = Array.from({ length: watermarkSeq }, (_, i) => ({
    allocationId: i + 1,
    memoryType: 0 as const,
    address: (i + 1) * 4096,
    sizeBytes: 4096,
  }));
  return [
    encodeSnapshotBegin({ deviceId: 0, watermarkSeq, totalAllocations: watermarkSeq }),
    encodeSnapshotChunk({ deviceId: 0, allocations }),
    encodeSnapshotEnd({ deviceId: 0, watermarkSeq }),
  ];
}

function liveDevice(server: TestServer, sessionId: string) {
  return server.queries.summary().processes.find((p) => p.sessionId === sessionId)?.devices[0];
}

const resyncs = (client: RawClient) =>
  client.frames.filter((f): f is ResyncRequestFrame => f.type === FrameType.RESYNC_REQUEST);

/** A handshake round trip on another connection: what the server wrote before has been delivered. */
async function roundTrip(server: TestServer): Promise<void> {
  (await RawClient.handshake(server.socketPath)).destroy();
}

test("a RESYNC_REQUEST is not repeated while unanswered: 50 gap timeouts, one frame", async (t) => {
  const clock = new ManualTimers();
  const server = await startTestServer({ gapTimeoutMs: GAP_TIMEOUT_MS, timers: clock });
  t.after(() => server.stop());
  const sessionId = newSessionId();
  const client = await RawClient.handshake(server.socketPath, { sessionId });
  client.send(encodeEvents([event(1), event(3)])); // seq 2 never comes
  await waitFor(() => liveDevice(server, sessionId)?.allocations === 1, { what: "seq 1 to be applied" });
  for (let i = 0; i < 50; i++) clock.advance(GAP_TIMEOUT_MS);
  await roundTrip(server);
  assert.equal(resyncs(client).length, 1, "one request, not one per gap timeout");

  // The answer clears it: the next hole gets its own request.
  for (const frame of snapshotThrough(3)) client.send(frame);
  client.send(encodeEvents([event(5)])); // seq 4 never comes
  await waitFor(() => liveDevice(server, sessionId)?.allocations === 3, { what: "the snapshot to apply" });
  clock.advance(GAP_TIMEOUT_MS);
  await client.waitFor(() => resyncs(client).length === 2);
  assert.match(resyncs(client)[1].reason, /seq 4/);
  client.destroy();
});

test("an unanswered request is asked again on another connection once the one asked closes", async (t) => {
  const clock = new ManualTimers();
  const server = await startTestServer({ gapTimeoutMs: GAP_TIMEOUT_MS, timers: clock });
  t.after(() => server.stop());
  const sessionId = newSessionId();
  const first = await RawClient.handshake(server.socketPath, { sessionId });
  const second = await RawClient.handshake(server.socketPath, { sessionId });
  first.send(encodeEvents([event(1), event(3)]));
  await waitFor(() => liveDevice(server, sessionId)?.allocations === 1, { what: "seq 1 to be applied" });
  // Two connections: the quiet one has not passed seq 2, so the gap is confirmed a tenth of the
  // timeout later (docs/PROTOCOL.md §3.3, the gap rule).
  clock.advance(GAP_TIMEOUT_MS);
  await roundTrip(server);
  clock.advance(GAP_TIMEOUT_MS / 10);
  await roundTrip(server);
  const asked = resyncs(first).length === 1 ? first : second;
  const other = asked === first ? second : first;
  assert.equal(resyncs(asked).length + resyncs(other).length, 1);
  asked.destroy();
  await waitFor(() => server.sessions.get(sessionId)?.connectionCount === 1, {
    what: "the close to be seen",
  });
  clock.advance(GAP_TIMEOUT_MS);
  await other.waitFor(() => resyncs(other).length === 1);
  for (const frame of snapshotThrough(3)) other.send(frame);
  await waitFor(() => liveDevice(server, sessionId)?.allocations === 3, { what: "the snapshot to apply" });
  other.destroy();
});

test("a client that does not read is dropped once its unread replies pass maxOutboundBytes", async (t) => {
  const clock = new ManualTimers();
  const maxOutboundBytes = 64 * 1024;
  const server = await startTestServer({ gapTimeoutMs: GAP_TIMEOUT_MS, maxOutboundBytes, timers: clock });
  t.after(() => server.stop());
  const sessionId = newSessionId();
  const client = await RawClient.handshake(server.socketPath, { sessionId });
  client.send(encodeEvents([event(1), event(3)])); // a hole at seq 2, for the recovery below
  await waitFor(() => liveDevice(server, sessionId)?.allocations === 1, { what: "seq 1 to be applied" });
  client.socket.pause(); // from now on the client reads nothing

  // The server keeps asking, as a sequencer stalled on many devices would: 1 KiB frames, up to 20 MB.
  const session = server.sessions.get(sessionId)!;
  const [peer] = session.connections();
  const reason = "r".repeat(1000);
  let sent = 0;
  while (session.connectionCount > 0 && sent < 20_000) {
    peer.requestResync(sent % 64, reason);
    sent++;
    if (sent % 64 === 0) await new Promise((resolve) => setImmediate(resolve)); // let the socket flush
  }
  await waitFor(() => session.connectionCount === 0, {
    what: "the non-reading connection to be dropped",
    detail: () => `${sent} requests of 1 KiB written`,
  });
  assert.ok(sent < 20_000, `dropped after ${sent} requests`);
  t.diagnostic(`dropped after ${sent} requests of 1 KiB; budget peak ${server.bufferBudget.peakBytes} bytes`);
  const budget = server.bufferBudget;
  assert.ok(budget.peakBytes > 0, "unread replies were counted in the buffer budget");
  assert.ok(budget.peakBytes <= maxOutboundBytes, `at most ${budget.peakBytes} bytes were accounted`);
  await waitFor(() => budget.usedBytes === 0, { what: "the dropped connection's bytes to be given back" });
  client.destroy();

  // The session outlives the connection (reconnect grace): the gap's request waits for the next one.
  clock.advance(GAP_TIMEOUT_MS);
  const again = await RawClient.handshake(server.socketPath, { sessionId });
  await again.waitFor((f) => f.type === FrameType.RESYNC_REQUEST && f.deviceId === 0);
  for (const frame of snapshotThrough(3)) again.send(frame);
  await waitFor(() => liveDevice(server, sessionId)?.allocations === 3, { what: "the snapshot to heal" });
  assert.equal(liveDevice(server, sessionId)!.used.DRAM, 3 * 4096);
  again.destroy();
});

test("evicted by a full budget while replies wait unread: dropped without an ERROR frame", async (t) => {
  const budgetBytes = 64 * 1024;
  const server = await startTestServer({
    maxFrameBytes: budgetBytes,
    bufferBudgetBytes: budgetBytes,
    timers: new ManualTimers(),
  });
  t.after(() => server.stop());
  const sessionId = newSessionId();
  const deaf = await RawClient.handshake(server.socketPath, { sessionId });
  deaf.socket.pause();
  const [peer] = server.sessions.get(sessionId)!.connections();
  const budget = server.bufferBudget;
  for (let i = 0; budget.usedBytes < 48 * 1024 && i < 10_000; i++) {
    peer.requestResync(0, "r".repeat(1000));
    if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(budget.usedBytes >= 48 * 1024, `${budget.usedBytes} bytes of unread replies are charged`);

  // Another client's 20 KiB partial frame fills the budget; the deaf one holds more than half of it.
  const other = await RawClient.handshake(server.socketPath);
  const header = new Uint8Array(5);
  writeU32(header, 0, 30 * 1024);
  header[4] = FrameType.EVENTS;
  other.send(header);
  other.send(new Uint8Array(20 * 1024));
  await waitFor(() => server.sessions.get(sessionId)?.connectionCount === 0, {
    what: "the deaf connection to be evicted",
    detail: () => `${budget.usedBytes} bytes charged`,
  });
  deaf.socket.resume();
  await deaf.closed;
  assert.equal(
    deaf.frames.some((f) => f.type === FrameType.ERROR),
    false,
    "an ERROR frame behind unread replies would never be read",
  );
  assert.ok(other.isOpen);
  assert.ok(budget.peakBytes <= budgetBytes);
  other.destroy();
});
