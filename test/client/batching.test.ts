import assert from "node:assert/strict";
import { test } from "node:test";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { FrameType } from "../../src/protocol/frames.js";
import { FixtureServer } from "./fixture-server.js";

const DEVICE = { deviceId: 3, name: "dev3", architecture: "TINY", capacityBytes: [1, 2, 3, 4, 5, 6, 7] };

test("many events travel in few EVENTS frames, all of them, in order", async () => {
  const server = await FixtureServer.start();
  const client = new AllocationClient({ socketPath: server.path, devices: [DEVICE], batchMaxEvents: 1000 });
  try {
    await server.waitFor(() => server.framesOf(FrameType.HELLO).length === 1, 5000, "HELLO");
    await client.flush();
    const total = 10_000;
    for (let seq = 1; seq <= total; seq++) {
      // ALLOC of id k at odd seq, its FREE at the next even seq.
      const id = (seq + 1) >> 1;
      client.record(seq % 2 === 1 ? 1 : 2, 3, seq % 7, seq, id, id * 64, 4096, seq * 10);
    }
    await client.flush();
    await server.waitFor(() => server.events.length === total, 5000, "all events");

    const events = server.events;
    assert.equal(events.length, total);
    events.forEach((e, i) => {
      const seq = i + 1;
      const id = (seq + 1) >> 1;
      assert.deepEqual(e, {
        op: seq % 2 === 1 ? 1 : 2,
        deviceId: 3,
        memoryType: seq % 7,
        seq,
        allocationId: id,
        address: id * 64,
        sizeBytes: 4096,
        timestampNs: seq * 10,
      });
    });
    // Recorded in one synchronous burst: every batch is full.
    assert.equal(server.framesOf(FrameType.EVENTS).length, total / 1000);
    const counters = client.counters;
    assert.equal(counters.sent, total);
    assert.equal(counters.batches, total / 1000);
    assert.equal(counters.dropped, 0);
    assert.equal(counters.queueBytes, 0);
  } finally {
    await client.close();
    await server.close();
  }
});

test("a partial batch is written by the flush timer without flush() being called", async () => {
  const server = await FixtureServer.start();
  const client = new AllocationClient({ socketPath: server.path, devices: [DEVICE], flushIntervalMs: 2 });
  try {
    await server.waitFor(() => server.framesOf(FrameType.HELLO).length === 1, 5000, "HELLO");
    await client.flush();
    for (let seq = 1; seq <= 3; seq++) client.record(1, 3, 0, seq, seq, seq * 64, 64, 0);
    await server.waitFor(() => server.events.length === 3, 2000, "3 events from the timer");
    assert.equal(server.framesOf(FrameType.EVENTS).length, 1);
  } finally {
    await client.close();
    await server.close();
  }
});

test("clients sharing a session id open one connection each with that id", async () => {
  const server = await FixtureServer.start();
  const sessionId = "0123456789abcdef0123456789abcdef";
  const a = new AllocationClient({ socketPath: server.path, sessionId, devices: [DEVICE] });
  const b = new AllocationClient({
    socketPath: server.path,
    sessionId,
    devices: [DEVICE],
    processName: "worker",
  });
  try {
    await server.waitFor(() => server.framesOf(FrameType.HELLO).length === 2, 5000, "two HELLOs");
    const hellos = server.framesOf(FrameType.HELLO).map((f) => ("frame" in f ? f.frame : undefined));
    for (const hello of hellos) {
      assert.equal(hello?.type, FrameType.HELLO);
      if (hello?.type !== FrameType.HELLO) continue;
      assert.equal(hello.sessionId, sessionId);
      assert.equal(hello.pid, process.pid);
      assert.ok(hello.processStartTicks > 0, "start ticks read from /proc");
      assert.deepEqual(hello.devices, [DEVICE]);
    }
    assert.equal(new Set(server.framesOf(FrameType.HELLO).map((f) => f.connection)).size, 2);
    assert.equal(a.sessionId, b.sessionId);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await server.close();
  }
});
