import assert from "node:assert/strict";
import { test } from "node:test";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { FrameType } from "../../src/protocol/frames.js";
import { FixtureServer } from "./fixture-server.js";

const DEVICE = { deviceId: 0, name: "d0", architecture: "TINY", capacityBytes: [0, 0, 0, 0, 0, 0, 0] };

test("close() drains every queued event, sends GOODBYE last and ends the connection", async () => {
  const server = await FixtureServer.start();
  const client = new AllocationClient({ socketPath: server.path, devices: [DEVICE], flushIntervalMs: 1000 });
  try {
    await server.waitFor(() => server.framesOf(FrameType.HELLO).length === 1);
    for (let seq = 1; seq <= 5000; seq++) client.record(1, 0, 0, seq, seq, seq * 64, 64, seq);
    const closing = client.close();
    assert.equal(client.close(), closing, "close() is idempotent");
    await closing;
    assert.equal(client.state, "closed");
    await server.waitFor(() => server.sockets.length === 0, 5000, "the connection to end");
    assert.equal(server.events.length, 5000, "nothing recorded before close() was lost");
    assert.equal(server.frames.at(-1)?.type, FrameType.GOODBYE);
    assert.equal(server.framesOf(FrameType.GOODBYE).length, 1);

    const sentBefore = client.counters.sent;
    assert.doesNotThrow(() => client.record(1, 0, 0, 5001, 5001, 0, 64, 0));
    assert.equal(client.counters.sent, sentBefore);
    assert.equal(client.counters.dropped, 1, "a record after close is dropped and counted");
    await client.flush(); // resolves at once
  } finally {
    await client.close();
    await server.close();
  }
});

test("close() without a server returns promptly", async () => {
  const client = new AllocationClient({ socketPath: "/nonexistent/allocwatch.sock", devices: [DEVICE] });
  const started = Date.now();
  await client.close({ timeoutMs: 2000 });
  assert.equal(client.state, "closed");
  assert.ok(Date.now() - started < 1000);
});
