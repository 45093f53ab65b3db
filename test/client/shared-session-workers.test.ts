import assert from "node:assert/strict";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { TrackingProcessor } from "../../src/client/tracking-processor.js";
import type { ClientCounters } from "../../src/client/types.js";
import { Device } from "../../src/device/device.js";
import { GraphTracker } from "../../src/device/graph-tracker.js";
import { WORMHOLE_B0_N150 } from "../../src/device/presets.js";
import { FrameType } from "../../src/protocol/frames.js";
import { FixtureServer } from "./fixture-server.js";
import { churnShared, type SharedSessionWorkerData, WORKER_MARKER } from "./shared-session-worker.js";

test("worker threads sharing a device report over their own connections in one session; seq order is exact", async () => {
  const server = await FixtureServer.start();
  const device = Device.create(WORMHOLE_B0_N150, { id: 0, shared: true });
  const sessionId = "feedfacefeedfacefeedfacefeedface";
  const tracker = new GraphTracker();
  tracker.observeDevice(0, { kind: "sparse" });
  const client = new AllocationClient({
    socketPath: server.path,
    sessionId,
    devices: [
      { deviceId: 0, name: device.name, architecture: "WORMHOLE_B0", capacityBytes: [0, 0, 0, 0, 0, 0, 0] },
    ],
  });
  tracker.addProcessor(new TrackingProcessor(client));
  try {
    const workers = [1, 2].map((seed) => {
      const data: SharedSessionWorkerData = {
        marker: WORKER_MARKER,
        handle: device.share(),
        socketPath: server.path,
        sessionId,
        resumeSecret: client.resumeSecret,
        changes: 4000,
        seed,
      };
      const worker = new Worker(new URL("./shared-session-worker.js", import.meta.url), { workerData: data });
      return new Promise<ClientCounters>((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
      });
    });
    churnShared(device, tracker, 4000, 3);
    await client.close();
    const workerCounters = await Promise.all(workers);
    for (const counters of [client.counters, ...workerCounters]) {
      assert.equal(counters.dropped, 0);
      assert.equal(counters.invalid, 0);
    }
    const total = device.allocator.lastSeq;
    await server.waitFor(() => server.events.length === total, 5000, "every event of the three realms");

    const hellos = server.framesOf(FrameType.HELLO);
    assert.equal(hellos.length, 3, "three connections");
    for (const h of hellos) {
      assert.ok("frame" in h && h.frame.type === FrameType.HELLO && h.frame.sessionId === sessionId);
      assert.equal(h.frame.resumeSecret, client.resumeSecret, "every thread joins with the session's secret");
    }
    // Each connection carries an increasing subsequence; together they are exactly 1..total.
    const perConnection = new Map<number, number>();
    for (const f of server.frames) {
      if (f.type !== FrameType.EVENTS) continue;
      for (const e of f.events) {
        assert.ok(e.seq > (perConnection.get(f.connection) ?? 0), "increasing within a connection");
        perConnection.set(f.connection, e.seq);
      }
    }
    const events = server.events.sort((a, b) => a.seq - b.seq);
    assert.deepEqual(
      events.map((e) => e.seq),
      Array.from({ length: total }, (_, i) => i + 1),
    );
    // Applied in seq order (what the server's sequencer does), they give the allocator's live set.
    const live = new Map<number, number>();
    for (const e of events) {
      if (e.op === 1) live.set(e.allocationId, e.address);
      else assert.ok(live.delete(e.allocationId), `FREE of a live allocation (${e.allocationId})`);
    }
    const expected = device.allocator.snapshot();
    assert.deepEqual(
      [...live.entries()].sort((a, b) => a[0] - b[0]),
      expected.allocations.map((a) => [a.allocationId, a.address]).sort((a, b) => a[0] - b[0]),
    );
  } finally {
    await client.close();
    await server.close();
  }
});
