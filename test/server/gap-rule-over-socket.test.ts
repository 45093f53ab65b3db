// Issue 9 finding 9, the gap rule over real sockets on an injected clock: a number missing on one
// connection of a session is waited for while a connection that has not passed it keeps delivering, and
// declared lost (a GAP_TIMEOUT recovery and a resync, never an anomaly) only once every live connection
// has passed it, or those behind stayed quiet through the timeout and a confirmation.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { encodeEvents, encodeGoodbye } from "../../src/protocol/encode-frame.js";
import { ManualTimers } from "../../src/server/timers.js";
import { waitFor } from "../support/wait-for.js";
import { newSessionId, RawClient, TEST_DEVICE, testEvent } from "./raw-client.js";
import { startTestServer, type TestServer } from "./test-server.js";

const GAP_TIMEOUT_MS = 100;
/** The confirmation delay the server uses for a 100 ms gap timeout (a tenth of it). */
const CONFIRM_MS = 10;
const clock = new ManualTimers();
let server: TestServer;
before(async () => {
  server = await startTestServer({ gapTimeoutMs: GAP_TIMEOUT_MS, timers: clock });
});
after(async () => {
  await server.stop();
});

const DEVICES = [0, 1].map((deviceId) => ({ ...TEST_DEVICE, deviceId }));
const alloc = (deviceId: number, seq: number) => testEvent(seq, deviceId);

/** One process with two connections (two threads of a client). */
async function twoConnections() {
  const sessionId = newSessionId();
  const a = await RawClient.handshake(server.socketPath, { sessionId, devices: DEVICES });
  const b = await RawClient.handshake(server.socketPath, { sessionId, devices: DEVICES });
  const applied = (deviceId: number) =>
    server.queries
      .summary()
      .processes.find((p) => p.sessionId === sessionId)
      ?.devices.find((d) => d.id === deviceId)?.allocations ?? 0;
  const until = (deviceId: number, count: number) =>
    waitFor(() => applied(deviceId) === count, {
      what: `${count} allocations applied on device ${deviceId}`,
    });
  /** Ends the process cleanly, so that no timer of its session runs into the next test. */
  const leave = async () => {
    for (const c of [a, b]) {
      c.send(encodeGoodbye());
      c.end();
      await c.closed;
    }
    await waitFor(() => server.sessions.get(sessionId) === undefined, { what: "the session's release" });
  };
  return { a, b, applied, until, leave };
}

const counts = () => {
  const s = server.queries.summary();
  // (`?.`: the same file runs against a server without recoveries, to show it fails there.)
  return {
    resyncs: s.server.resyncRequests,
    anomalies: s.anomalies.total,
    recoveries: s.recoveries?.byKind ?? {},
  };
};

test("one connection behind and still delivering: no gap; its late number makes the view exact", async () => {
  const { a, b, until, leave } = await twoConnections();
  const before = counts();
  a.send(encodeEvents([alloc(0, 1), alloc(0, 3), alloc(0, 4)])); // seq 2 is on b, which lags
  await until(0, 1);
  // b keeps delivering (its other device) for three gap timeouts without reaching device 0's seq 2.
  for (let k = 1; k <= 5; k++) {
    clock.advance(60);
    b.send(encodeEvents([alloc(1, k)]));
    await until(1, k);
  }
  assert.equal(counts().resyncs, before.resyncs, "no RESYNC_REQUEST while b is behind and delivering");
  b.send(encodeEvents([alloc(0, 2)]));
  await until(0, 4);
  const now = counts();
  assert.equal(now.anomalies, before.anomalies, "no anomaly");
  assert.equal(now.resyncs, before.resyncs, "no resync");
  assert.equal(now.recoveries.GAP_FILLED_LATE, (before.recoveries.GAP_FILLED_LATE ?? 0) + 1);
  await leave();
});

test("every connection past the missing number: a gap at the timeout, a recovery, not an anomaly", async () => {
  const { a, b, until, leave } = await twoConnections();
  const before = counts();
  a.send(encodeEvents([alloc(0, 1), alloc(0, 3)]));
  b.send(encodeEvents([alloc(0, 4), alloc(1, 1)])); // device 1's event shows the frame was handled
  await until(0, 1);
  await until(1, 1);
  clock.advance(GAP_TIMEOUT_MS - 1);
  assert.equal(counts().resyncs, before.resyncs, "nothing before the gap timeout");
  clock.advance(1);
  const now = counts();
  assert.equal(now.resyncs, before.resyncs + 1, "a RESYNC_REQUEST at the gap timeout");
  assert.equal(now.anomalies, before.anomalies, "a lost number is healed by a snapshot: not a data error");
  assert.equal(now.recoveries.GAP_TIMEOUT, (before.recoveries.GAP_TIMEOUT ?? 0) + 1);
  await leave();
});

test("one connection behind and quiet: the gap is declared after the timeout and a confirmation", async () => {
  const { a, until, leave } = await twoConnections();
  const before = counts();
  a.send(encodeEvents([alloc(0, 1), alloc(0, 3)]));
  await until(0, 1);
  clock.advance(GAP_TIMEOUT_MS);
  assert.equal(counts().resyncs, before.resyncs, "b looks quiet: confirmed after a turn of the event loop");
  clock.advance(CONFIRM_MS);
  assert.equal(counts().resyncs, before.resyncs + 1, "b stayed quiet: the number is lost");
  assert.equal(counts().anomalies, before.anomalies);
  await leave();
});

test("a stalled server: bytes it had not read yet are not a quiet connection", async () => {
  const { a, b, until, leave } = await twoConnections();
  const before = counts();
  a.send(encodeEvents([alloc(0, 1), alloc(0, 3)]));
  await until(0, 1);
  // The timeout comes due while b's bytes wait unread (as after a SIGSTOP of the server) ...
  clock.advance(GAP_TIMEOUT_MS);
  // ... and the confirmation's turn of the event loop reads them.
  b.send(encodeEvents([alloc(1, 1)]));
  await until(1, 1);
  clock.advance(CONFIRM_MS);
  assert.equal(counts().resyncs, before.resyncs, "b delivered: it is waited for");
  b.send(encodeEvents([alloc(0, 2)]));
  await until(0, 3);
  assert.equal(counts().resyncs, before.resyncs);
  assert.equal(counts().anomalies, before.anomalies);
  await leave();
});
