import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { clientTestHooks } from "../../src/client/test-hooks.js";
import { waitFor } from "../support/wait-for.js";
import { FixtureServer } from "./fixture-server.js";
import { RECORDING_CHILD_MARKER } from "./recording-child.js";

const CHILD = fileURLToPath(new URL("./recording-child.js", import.meta.url));
const DEVICE = { deviceId: 0, name: "d0", architecture: "TINY", capacityBytes: [1, 2, 3, 4, 5, 6, 7] };

function runChild(socketPath: string, events: number): Promise<{ code: number | null; stdout: string }> {
  const child = spawn(process.execPath, [CHILD, RECORDING_CHILD_MARKER, socketPath, String(events)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return new Promise((resolve) => {
    child.once("exit", (code) => {
      clearTimeout(killer);
      resolve({ code, stdout });
    });
  });
}

for (const events of [5, 50_000]) {
  test(`a process that records ${events} events and returns without close() delivers them all and exits`, async () => {
    const server = await FixtureServer.start();
    try {
      const result = await runChild(server.path, events);
      assert.equal(result.code, 0, "exited by itself, not killed by the 20 s guard");
      assert.match(result.stdout, new RegExp(`recorded ${events} in state ready`));
      await server.waitFor(() => server.events.length === events, 5000, `${events} events`);
      assert.deepEqual(
        server.events.map((e) => e.seq),
        Array.from({ length: events }, (_, i) => i + 1),
        "every event, once, in order",
      );
    } finally {
      await server.close();
    }
  });
}

test("flush() waits for the writer thread: pending while the server does not read, resolved once all is sent", async () => {
  const server = await FixtureServer.start();
  const client = new AllocationClient({
    socketPath: server.path,
    devices: [DEVICE],
    maxQueueBytes: 64 << 20,
  });
  try {
    await waitFor(() => client.state === "ready", { what: "the client to be ready" });
    server.stall();
    // More than the kernel's socket buffers hold (48 B each): the writer thread must wait for 'drain'.
    const total = 200_000;
    for (let seq = 1; seq <= total; seq++) client.record(1, 0, 0, seq, seq, seq * 64, 64, seq);
    let flushed = false;
    const flush = client.flush({ timeoutMs: 30_000 }).then(() => {
      flushed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(flushed, false, "flush() resolved while the events were still in the ring or the socket");
    assert.ok(client.counters.queueBytes > 0 || client.counters.sent < total);
    server.resume();
    await flush;
    assert.equal(client.counters.sent, total);
    assert.equal(client.counters.dropped, 0);
    assert.equal(client.counters.queueBytes, 0);
    await server.waitFor(() => server.events.length === total, 10_000, "every event");
  } finally {
    await client.close();
    await server.close();
  }
});

test("a full ring drops and counts exactly what did not fit, and never blocks record()", async () => {
  const server = await FixtureServer.start();
  // 1024 B: a ring of 21 events, far below one synchronous burst.
  const client = new AllocationClient({ socketPath: server.path, devices: [DEVICE], maxQueueBytes: 1024 });
  try {
    await waitFor(() => client.state === "ready", { what: "the client to be ready" });
    const total = 10_000;
    for (let seq = 1; seq <= total; seq++) client.record(1, 0, 0, seq, seq, seq * 64, 64, seq);
    await client.flush();
    const { sent, dropped } = client.counters;
    assert.ok(dropped > 0, "the burst overflowed the ring");
    assert.equal(sent + dropped, total, "every event was either sent or counted as dropped");
    // Without a snapshot source the loss cannot heal: the device stays dirty.
    assert.deepEqual(client.dirtyDevices(), [0]);
    await server.waitFor(() => server.events.length === sent, 5000, "the sent events");
    const seqs = server.events.map((e) => e.seq);
    assert.ok(
      seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!),
      "what was sent keeps its order",
    );
  } finally {
    await client.close();
    await server.close();
  }
});

test("values the wire cannot carry are refused (counted invalid) and bad timestamps repaired, around valid events", async () => {
  const server = await FixtureServer.start();
  const client = new AllocationClient({ socketPath: server.path, devices: [DEVICE] });
  try {
    await waitFor(() => client.state === "ready", { what: "the client to be ready" });
    client.record(1, 0, 0, 1, 1, 64, 64, 10);
    client.record(1, 0, 0, 1.5, 2, 128, 64, 20); // fractional seq: refused by the writer thread
    client.record(1, 0, 0, 2, 3, 2 ** 53, 64, 30); // address >= 2^53: refused by the writer thread
    client.record(3, 0, 0, 3, 4, 192, 64, 40); // op 3: refused by record()
    client.record(1, 0, 9, 3, 4, 192, 64, 40); // memory type 9: refused by record()
    client.record(1, 0, 0, 3, 4, 192, "64" as unknown as number, 40); // not a number: refused by record()
    client.record(1, 0, 0, 4, 5, 256, 64, -1); // timestamp out of range: sent with 0
    client.record(1, 0, 0, 5, 6, 320, 64, 12.7); // fractional timestamp: rounded down
    client.record(2, 0, 0, 6, 1, 64, 64, 50);
    await client.flush();
    const counters = client.counters;
    assert.equal(counters.invalid, 5);
    assert.equal(counters.repairedTimestamps, 2);
    assert.equal(counters.sent, 4);
    await server.waitFor(() => server.events.length === 4, 5000, "the 4 valid events");
    assert.deepEqual(
      server.events.map((e) => [e.seq, e.timestampNs]),
      [
        [1, 10],
        [4, 0],
        [5, 12],
        [6, 50],
      ],
    );
  } finally {
    await client.close();
    await server.close();
  }
});

test("events recorded but not yet published when the connection drops are dropped once, never re-sent by the next connection's writer", async () => {
  const server = await FixtureServer.start();
  // No flush tick within the test: the ring's shared tail moves only when record() wakes the writer.
  const client = new AllocationClient({
    socketPath: server.path,
    devices: [DEVICE],
    flushIntervalMs: 60_000,
    // 1000 events (+ room for markers): a ring of 16384 slots.
    maxQueueBytes: 48_000,
    reconnectInitialMs: 5,
    reconnectMaxMs: 20,
  });
  try {
    await waitFor(() => client.state === "ready", { what: "the client to be ready" });
    // First a lap and more around the ring (16384 slots), so that every slot holds an old event.
    const lap = 17_000;
    for (let seq = 1; seq <= lap; seq++) {
      client.record(1, 0, 0, seq, seq, seq * 64, 64, seq);
      if (seq % 1000 === 0) await client.flush();
    }
    assert.equal(client.counters.dropped, 0);
    await server.waitFor(() => server.events.length === lap, 5000, "the first lap");
    // Fewer than a batch: stored in the ring, not published to the writer.
    for (let seq = lap + 1; seq <= lap + 10; seq++) client.record(1, 0, 0, seq, seq, seq * 64, 64, seq);
    server.destroyConnections();
    await waitFor(() => client.counters.disconnects === 1, { what: "the client to see the drop" });
    assert.equal(client.counters.dropped, 10, "the unsent events were taken back and counted");
    await waitFor(() => client.state === "ready", { what: "the client to reconnect" });
    client.record(1, 0, 0, lap + 11, lap + 11, 64, 64, lap + 11);
    await client.flush();
    await server.waitFor(() => server.events.length >= lap + 1, 5000, "the event after the reconnect");
    await client.flush();
    assert.deepEqual(
      server.events.slice(lap).map((e) => e.seq),
      [lap + 11],
      "only the event recorded after the reconnect (no old slot before the new head was read)",
    );
    assert.equal(server.events.length, lap + 1);
  } finally {
    await client.close();
    await server.close();
  }
});

test("a client whose ring positions start just below 2^32: every event arrives once, in order, and flush() resolves across the wrap", async () => {
  const server = await FixtureServer.start();
  const start = 2 ** 32 - 5000;
  clientTestHooks.ringStartPosition = start;
  let client: AllocationClient;
  try {
    client = new AllocationClient({ socketPath: server.path, devices: [DEVICE] });
  } finally {
    clientTestHooks.ringStartPosition = 0;
  }
  try {
    await waitFor(() => client.state === "ready", { what: "the client to be ready" });
    const total = 60_000;
    for (let seq = 1; seq <= total; seq++) {
      client.record(seq % 2 === 1 ? 1 : 2, 0, 0, seq, (seq + 1) >> 1, 64 * ((seq + 1) >> 1), 64, seq);
      // flush() now and then: its waiters compare ring positions on both sides of 2^32.
      if (seq % 4000 === 0) await client.flush();
    }
    await client.flush();
    assert.equal(client.counters.sent, total);
    assert.equal(client.counters.dropped, 0);
    assert.equal(client.counters.queueBytes, 0);
    await server.waitFor(() => server.events.length === total, 10_000, "every event");
    assert.deepEqual(
      server.events.map((e) => e.seq),
      Array.from({ length: total }, (_, i) => i + 1),
      "every event, once, in order",
    );
  } finally {
    await client!.close();
    await server.close();
  }
});
