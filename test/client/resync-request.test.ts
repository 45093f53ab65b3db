import assert from "node:assert/strict";
import { test } from "node:test";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { ClientErrorCode } from "../../src/client/errors.js";
import { ALL_DEVICES, FrameType } from "../../src/protocol/frames.js";
import { waitFor } from "../support/wait-for.js";
import { DeviceWorkload, sortedLive } from "./device-workload.js";
import { FixtureServer } from "./fixture-server.js";

function snapshotEnds(server: FixtureServer, deviceId: number): number {
  return server
    .framesOf(FrameType.SNAPSHOT_END)
    .filter((f) => "frame" in f && f.frame.type === FrameType.SNAPSHOT_END && f.frame.deviceId === deviceId)
    .length;
}

test("RESYNC_REQUEST for one device, then for all devices, is answered with watermarked snapshots", async () => {
  const server = await FixtureServer.start();
  const workload = new DeviceWorkload([0, 1]);
  const client = new AllocationClient({ socketPath: server.path, ...workload.clientOptions() });
  workload.attach(client);
  try {
    await client.flush();
    workload.churn(600);
    await client.flush();
    await server.waitFor(
      () => snapshotEnds(server, 0) === 1 && snapshotEnds(server, 1) === 1,
      5000,
      "initial",
    );

    server.sendResyncRequest(1, "gap timeout");
    await server.waitFor(() => snapshotEnds(server, 1) === 2, 5000, "device 1 resync");
    assert.equal(snapshotEnds(server, 0), 1, "only the device asked for");
    const end = server.framesOf(FrameType.SNAPSHOT_END).at(-1);
    assert.ok(end && "frame" in end && end.frame.type === FrameType.SNAPSHOT_END);
    if (end.frame.type === FrameType.SNAPSHOT_END)
      assert.equal(end.frame.watermarkSeq, workload.liveSet(1).seq);

    server.sendResyncRequest(ALL_DEVICES, "server restarted");
    await server.waitFor(
      () => snapshotEnds(server, 0) === 2 && snapshotEnds(server, 1) === 3,
      5000,
      "all devices",
    );

    workload.churn(600);
    await client.flush();
    for (const d of [0, 1]) {
      const expected = workload.liveSet(d);
      await server.waitFor(() => server.replay(d).appliedSeq === expected.seq, 5000, `device ${d}`);
      assert.deepEqual(sortedLive(server.replay(d).live), sortedLive(expected.live));
      assert.equal(server.replay(d).gaps, 0);
    }
    assert.equal(client.counters.resyncRequests, 2);
    assert.equal(client.counters.resyncs, 5);
  } finally {
    await client.close();
    await server.close();
  }
});

test("a RESYNC_REQUEST the client cannot answer (no snapshot source) is reported, not thrown", async () => {
  const server = await FixtureServer.start();
  const errors: string[] = [];
  const client = new AllocationClient({
    socketPath: server.path,
    devices: [{ deviceId: 0, name: "d", architecture: "TINY", capacityBytes: [0, 0, 0, 0, 0, 0, 0] }],
    onError: (error) => errors.push(error.code),
  });
  try {
    await server.waitFor(() => server.framesOf(FrameType.HELLO).length === 1);
    await client.flush();
    await waitFor(() => client.state === "ready", { what: "the client to be ready" });
    server.sendResyncRequest(0);
    await waitFor(() => client.counters.resyncRequests > 0, { what: "the client to see the RESYNC_REQUEST" });
    assert.deepEqual(errors, [ClientErrorCode.SNAPSHOT_FAILED]);
    assert.equal(client.state, "ready", "the connection stays up");
  } finally {
    await client.close();
    await server.close();
  }
});
