import assert from "node:assert/strict";
import { test } from "node:test";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { FrameType } from "../../src/protocol/frames.js";
import { DeviceWorkload, sortedLive, tick } from "./device-workload.js";
import { FixtureServer } from "./fixture-server.js";

test("a stalled server fills the bounded queue: drops are counted, then a snapshot makes the server exact", async () => {
  const server = await FixtureServer.start();
  const workload = new DeviceWorkload([0]);
  const maxQueueBytes = 64 * 1024;
  const client = new AllocationClient({
    socketPath: server.path,
    ...workload.clientOptions(),
    maxQueueBytes,
    batchMaxEvents: 256,
  });
  workload.attach(client);
  try {
    await client.flush();
    assert.equal(client.state, "ready");
    // Each synchronous burst stays below the queue bound (1000 x 48 B < 64 KiB).
    workload.churn(1000);
    await client.flush();
    workload.churn(1000);
    await client.flush();
    assert.equal(client.counters.dropped, 0, "nothing dropped while the server reads");

    server.stall();
    let maxQueueSeen = 0;
    // Record in slices so the client's timer runs: the kernel buffers fill, write() returns false, the
    // queue grows to its bound, and only then are events dropped.
    for (let round = 0; round < 400 && client.counters.dropped === 0; round++) {
      workload.churn(300);
      maxQueueSeen = Math.max(maxQueueSeen, client.counters.queueBytes);
      await tick(1);
    }
    workload.churn(2000);
    const stalled = client.counters;
    assert.ok(stalled.dropped > 0, "events were dropped once the queue was full");
    assert.ok(maxQueueSeen <= maxQueueBytes, `queue stayed within its bound (${maxQueueSeen} B)`);
    assert.ok(stalled.queueBytes > 0, "events waited in the queue during backpressure");
    assert.deepEqual(client.dirtyDevices(), [0]);
    const lastSeqWhileStalled = workload.liveSet(0).seq;

    server.resume();
    await client.flush();
    await server.waitFor(
      () => server.framesOf(FrameType.SNAPSHOT_END).length === 2,
      5000,
      "the resync snapshot",
    );
    assert.deepEqual(client.dirtyDevices(), []);
    const end = server.framesOf(FrameType.SNAPSHOT_END)[1];
    assert.ok("frame" in end && end.frame.type === FrameType.SNAPSHOT_END);
    if (end.frame.type === FrameType.SNAPSHOT_END) {
      assert.ok(end.frame.watermarkSeq >= lastSeqWhileStalled, "the watermark covers every dropped event");
    }

    // Later events continue right after the watermark.
    workload.churn(1000);
    await client.flush();
    const expected = workload.liveSet(0);
    await server.waitFor(() => server.replay(0).appliedSeq === expected.seq, 5000, "the last event");
    const replay = server.replay(0);
    assert.equal(replay.gaps, 0, "no sequence gap after the snapshot");
    assert.deepEqual(sortedLive(replay.live), sortedLive(expected.live));
    assert.equal(client.counters.resyncs, 2, "initial snapshot + one resync");
    assert.equal(client.counters.queueBytes, 0);
  } finally {
    await client.close();
    await server.close();
  }
});
