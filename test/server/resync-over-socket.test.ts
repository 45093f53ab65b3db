// Gaps and snapshots end to end over a real socket: a missing seq makes the server send RESYNC_REQUEST
// after the gap timeout (on an injected clock), counted as recoveries, not anomalies; the client's
// watermarked snapshot heals the view; a descriptor conflict between two sessions is an anomaly, not a
// crash.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  encodeEvents,
  encodeSnapshotBegin,
  encodeSnapshotChunk,
  encodeSnapshotEnd,
} from "../../src/protocol/encode-frame.js";
import { FrameType, type ResyncRequestFrame } from "../../src/protocol/frames.js";
import { ManualTimers } from "../../src/server/timers.js";
import { waitFor } from "../support/wait-for.js";
import { newSessionId, RawClient, TEST_DEVICE, testEvent } from "./raw-client.js";
import { startTestServer, type TestServer } from "./test-server.js";

const GAP_TIMEOUT_MS = 100;
const clock = new ManualTimers();
let server: TestServer;
before(async () => {
  server = await startTestServer({ gapTimeoutMs: GAP_TIMEOUT_MS, timers: clock });
});
after(async () => {
  await server.stop();
});

const event = (seq: number, op: 1 | 2 = 1) => testEvent(seq, 0, op);

test("a gap gets a RESYNC_REQUEST after the timeout; the snapshot makes the view exact", async () => {
  const sessionId = newSessionId();
  const client = await RawClient.handshake(server.socketPath, { sessionId });
  const live = () => server.queries.summary().processes.find((p) => p.sessionId === sessionId)!.devices[0];
  const resyncRequests = () => server.queries.summary().server.resyncRequests;
  const requestsBefore = resyncRequests();
  client.send(encodeEvents([event(1), event(3), event(4)])); // seq 2 "lost"
  await waitFor(() => live()?.allocations === 1, { what: "seq 1 to be applied (3 and 4 wait for 2)" });
  clock.advance(GAP_TIMEOUT_MS - 1);
  assert.equal(resyncRequests(), requestsBefore, "no RESYNC_REQUEST before the gap timeout");
  clock.advance(1);
  assert.equal(resyncRequests(), requestsBefore + 1, "a RESYNC_REQUEST at the gap timeout");
  const request = (await client.waitFor((f) => f.type === FrameType.RESYNC_REQUEST)) as ResyncRequestFrame;
  assert.equal(request.deviceId, 0);
  assert.match(request.reason, /gap/);
  assert.equal(live().allocations, 1, "nothing past the hole is applied");

  // Snapshot at watermark 4 (seq 2 allocated id 2), then seq 5 frees id 1.
  client.send(encodeSnapshotBegin({ deviceId: 0, watermarkSeq: 4, totalAllocations: 4 }));
  client.send(
    encodeSnapshotChunk({
      deviceId: 0,
      allocations: [1, 2, 3, 4].map((id) => ({
        allocationId: id,
        memoryType: 0,
        address: id * 4096,
        sizeBytes: 4096,
      })),
    }),
  );
  client.send(encodeSnapshotEnd({ deviceId: 0, watermarkSeq: 4 }));
  client.send(encodeEvents([event(3), { ...event(1, 2), seq: 5 }])); // seq 3 is stale now
  await waitFor(() => live().allocations === 3, { what: "the snapshot and seq 5 to be applied" });
  assert.equal(live().allocations, 3);
  assert.equal(live().used.DRAM, 3 * 4096);
  const { body } = await server.get("/api/v1/anomalies");
  assert.deepEqual(body.byKind, {}, "a gap is a transport recovery, not an anomaly");
  const summary = await server.get("/api/v1/summary");
  assert.deepEqual(summary.body.recoveries, { total: 2, byKind: { GAP_TIMEOUT: 1, RESYNC_REQUESTED: 1 } });
  assert.ok(server.queries.summary().server.eventsStale >= 1);
  client.destroy();
});

test("conflicting device descriptors from two sessions: an anomaly, both served, first description kept", async () => {
  const a = await RawClient.handshake(server.socketPath, {
    devices: [{ ...TEST_DEVICE, deviceId: 5, name: "first" }],
  });
  const b = await RawClient.handshake(server.socketPath, {
    devices: [
      {
        ...TEST_DEVICE,
        deviceId: 5,
        name: "second",
        capacityBytes: TEST_DEVICE.capacityBytes.map((c) => c * 2),
      },
    ],
  });
  assert.ok(a.isOpen && b.isOpen);
  const summary = server.queries.summary();
  assert.equal(summary.devices.find((d) => d.id === 5)!.name, "first");
  assert.equal(summary.anomalies.byKind.DESCRIPTOR_CONFLICT, 1);
  a.destroy();
  b.destroy();
});

test("a snapshot cut off by its connection closing: a recovery, no anomaly; the other connection is asked and heals it", async () => {
  const sessionId = newSessionId();
  const a = await RawClient.handshake(server.socketPath, { sessionId });
  const b = await RawClient.handshake(server.socketPath, { sessionId });
  const summary = () => server.queries.summary();
  const live = () => summary().processes.find((p) => p.sessionId === sessionId)?.devices[0];
  const before = summary();
  a.send(encodeEvents([event(1), event(2)]));
  await waitFor(() => live()?.allocations === 2, { what: "seq 1 and 2 to be applied" });
  a.send(encodeSnapshotBegin({ deviceId: 0, watermarkSeq: 2, totalAllocations: 2 }));
  a.send(
    encodeSnapshotChunk({
      deviceId: 0,
      allocations: [{ allocationId: 1, memoryType: 0, address: 4096, sizeBytes: 4096 }],
    }),
  );
  a.destroy(); // before SNAPSHOT_END
  const request = (await b.waitFor((f) => f.type === FrameType.RESYNC_REQUEST)) as ResyncRequestFrame;
  assert.match(request.reason, /closed in the middle of a snapshot/);
  const after = summary();
  assert.equal(
    (after.recoveries.byKind.SNAPSHOT_INTERRUPTED ?? 0) -
      (before.recoveries.byKind.SNAPSHOT_INTERRUPTED ?? 0),
    1,
  );
  assert.equal(after.anomalies.total, before.anomalies.total, "the client sent nothing wrong");
  // The surviving connection answers with a whole snapshot: exact again.
  b.send(encodeSnapshotBegin({ deviceId: 0, watermarkSeq: 2, totalAllocations: 2 }));
  b.send(
    encodeSnapshotChunk({
      deviceId: 0,
      allocations: [1, 2].map((id) => ({
        allocationId: id,
        memoryType: 0,
        address: id * 4096,
        sizeBytes: 4096,
      })),
    }),
  );
  b.send(encodeSnapshotEnd({ deviceId: 0, watermarkSeq: 2 }));
  b.send(encodeEvents([{ ...event(1, 2), seq: 3 }]));
  await waitFor(() => live()?.allocations === 1, {
    what: "the snapshot and seq 3 (FREE of id 1) to be applied",
  });
  assert.equal(live()!.used.DRAM, 4096);
  assert.equal(summary().anomalies.total, before.anomalies.total);
  b.destroy();
});
