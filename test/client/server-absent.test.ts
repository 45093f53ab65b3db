import assert from "node:assert/strict";
import { test } from "node:test";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { ClientErrorCode } from "../../src/client/errors.js";
import { FrameType } from "../../src/protocol/frames.js";
import { waitFor } from "../support/wait-for.js";
import { DeviceWorkload, sortedLive } from "./device-workload.js";
import { FixtureServer, unusedSocketPath } from "./fixture-server.js";

test("no server at start: nothing throws or blocks; when the server appears, a snapshot makes it exact", async () => {
  const { path, cleanup } = unusedSocketPath();
  // Device 9 is announced too (its device stays empty): the direct record() calls below use it, apart
  // from the workload's device 0.
  const workload = new DeviceWorkload([0, 9]);
  const errors: string[] = [];
  const client = new AllocationClient({
    socketPath: path,
    ...workload.clientOptions(),
    reconnectInitialMs: 10,
    reconnectMaxMs: 40,
    onError: (error) => errors.push(error.code),
  });
  workload.attach(client);
  let server: FixtureServer | undefined;
  try {
    // Direct record() calls: the cost the workload pays per change while the server is away.
    const calls = 200_000;
    const started = process.hrtime.bigint();
    for (let i = 1; i <= calls; i++) client.record(1, 9, 0, i, i, i * 64, 64, i);
    const perCallNs = Number(process.hrtime.bigint() - started) / calls;
    assert.ok(
      perCallNs < 2000,
      `record() stays cheap without a server (${perCallNs.toFixed(0)} ns per call)`,
    );

    workload.churn(3000);
    await client.flush(); // must not wait for a server that is not there
    await waitFor(
      () => client.counters.disconnects >= 2 && errors.includes(ClientErrorCode.CONNECTION_FAILED),
      {
        what: "two failed connection attempts",
        detail: () => `disconnects ${client.counters.disconnects}, errors ${errors.join(", ")}`,
      },
    );
    assert.equal(client.state === "backoff" || client.state === "connecting", true);
    assert.ok(client.counters.dropped >= calls, "events without a server are dropped and counted");
    assert.ok(client.counters.disconnects >= 2, "it keeps retrying");
    assert.ok(errors.includes(ClientErrorCode.CONNECTION_FAILED), "failures are reported, not thrown");
    assert.ok(client.dirtyDevices().includes(0));

    server = await FixtureServer.start({ path });
    const live = server;
    await live.waitFor(() => live.framesOf(FrameType.SNAPSHOT_END).length >= 1, 5000, "the snapshot");
    workload.churn(500);
    await client.flush();
    const expected = workload.liveSet(0);
    await live.waitFor(() => live.replay(0).appliedSeq === expected.seq, 5000, "the last event");
    const replay = live.replay(0);
    assert.equal(replay.gaps, 0);
    assert.deepEqual(sortedLive(replay.live), sortedLive(expected.live));
    assert.equal(client.state, "ready");
  } finally {
    await client.close();
    await server?.close();
    cleanup();
  }
});
