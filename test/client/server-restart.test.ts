import assert from "node:assert/strict";
import { test } from "node:test";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { FrameType } from "../../src/protocol/frames.js";
import { DeviceWorkload, sortedLive, tick } from "./device-workload.js";
import { FixtureServer, unusedSocketPath } from "./fixture-server.js";

test("server killed and restarted: the client reconnects and resyncs every device; the new server is exact", async () => {
  const { path, cleanup } = unusedSocketPath();
  const workload = new DeviceWorkload([0, 1]);
  let first: FixtureServer | undefined = await FixtureServer.start({ path });
  const client = new AllocationClient({
    socketPath: path,
    ...workload.clientOptions(),
    reconnectInitialMs: 10,
    reconnectMaxMs: 50,
  });
  workload.attach(client);
  let second: FixtureServer | undefined;
  try {
    await client.flush();
    workload.churn(1000);
    await client.flush();
    await first.close(); // drops the connection and removes the socket: the server is gone
    first = undefined;
    for (let i = 0; i < 20; i++) {
      workload.churn(100); // the workload goes on without a server
      await tick(2);
    }
    assert.equal(client.state === "backoff" || client.state === "connecting", true);
    const droppedWhileAway = client.counters.dropped;
    assert.ok(droppedWhileAway > 0);

    second = await FixtureServer.start({ path });
    const server = second;
    await server.waitFor(() => server.framesOf(FrameType.SNAPSHOT_END).length === 2, 5000, "two snapshots");
    workload.churn(1000);
    await client.flush();
    for (const d of [0, 1]) {
      const expected = workload.liveSet(d);
      await server.waitFor(() => server.replay(d).appliedSeq === expected.seq, 5000, `device ${d} caught up`);
      const replay = server.replay(d);
      assert.equal(replay.gaps, 0, `device ${d}: no gap`);
      assert.equal(replay.snapshots, 1);
      assert.deepEqual(sortedLive(replay.live), sortedLive(expected.live), `device ${d} live set`);
    }
    assert.equal(client.counters.reconnects, 1);
    assert.equal(server.framesOf(FrameType.HELLO).length, 1);
  } finally {
    await client.close();
    await first?.close();
    await second?.close();
    cleanup();
  }
});

test("a dropped connection with the server still up is healed the same way", async () => {
  const server = await FixtureServer.start();
  const workload = new DeviceWorkload([0]);
  const client = new AllocationClient({
    socketPath: server.path,
    ...workload.clientOptions(),
    reconnectInitialMs: 5,
  });
  workload.attach(client);
  try {
    await client.flush();
    workload.churn(800);
    server.destroyConnections();
    workload.churn(800);
    await server.waitFor(
      () => server.frames.some((f) => f.connection === 1 && f.type === FrameType.SNAPSHOT_END),
      5000,
      "the snapshot on the second connection",
    );
    workload.churn(800);
    await client.flush();
    const expected = workload.liveSet(0);
    await server.waitFor(() => server.replay(0).appliedSeq === expected.seq, 5000, "the last event");
    assert.deepEqual(sortedLive(server.replay(0).live), sortedLive(expected.live));
    assert.equal(server.replay(0).gaps, 0);
  } finally {
    await client.close();
    await server.close();
  }
});
