// The client's side of allocation contexts (docs/PROTOCOL.md §3.8): a Device's operation scope names its
// allocations; the client defines each text once (CONTEXT) before the first record citing it, repeats
// every definition first thing on a new connection, states contexts in snapshots, and falls back to
// version 2 (no contexts, nothing lost) when a server refuses version 3.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { MAX_CLIENT_CONTEXTS } from "../../src/client/client-contexts.js";
import { deviceOptions } from "../../src/client/device-description.js";
import type { ClientError } from "../../src/client/errors.js";
import { TrackingProcessor } from "../../src/client/tracking-processor.js";
import { Device } from "../../src/device/device.js";
import { DeviceBuffer } from "../../src/device/device-buffer.js";
import { GraphTracker } from "../../src/device/graph-tracker.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { WORMHOLE_B0_N150 } from "../../src/device/presets.js";
import { type Frame, FrameType } from "../../src/protocol/frames.js";
import { waitFor } from "../support/wait-for.js";
import { FixtureServer, type ReceivedFrame } from "./fixture-server.js";

function setUp(server: FixtureServer, errors: ClientError[] = []) {
  const device = Device.create(WORMHOLE_B0_N150, { id: 0 });
  const tracker = new GraphTracker();
  const client = new AllocationClient({
    socketPath: server.path,
    ...deviceOptions([device]),
    initialSnapshot: false,
    reconnectInitialMs: 10,
    onError: (e) => errors.push(e),
  });
  tracker.addProcessor(new TrackingProcessor(client, [device]));
  const make = (sizeBytes: number) =>
    DeviceBuffer.create(device, { memoryType: MemoryType.DRAM, sizeBytes, pageSizeBytes: 1024 }, { tracker });
  return { device, client, make };
}

const helloOf = (f: ReceivedFrame) =>
  f.type === FrameType.HELLO ? (f.frame as Frame & { version: number }) : undefined;
const contextsOf = (frames: ReceivedFrame[], connection?: number) =>
  frames
    .filter((f) => f.type === FrameType.CONTEXT && (connection === undefined || f.connection === connection))
    .map(
      (f) => (f.type === FrameType.CONTEXT ? (f.frame as { contextId: number; text: string }) : undefined)!,
    );

test("allocations made inside an operation carry it; each text is defined once, before it is cited", async () => {
  const server = await FixtureServer.start();
  const { device, client, make } = setUp(server);
  try {
    await waitFor(() => client.state === "ready", { what: "the client to be ready" });
    const a = device.withOperation("ttnn.matmul", () => make(4096));
    const b = device.withOperation("ttnn.conv2d", () =>
      device.withOperation("ttnn.conv2d.halo", () => make(2048)),
    );
    const c = make(1024);
    const d = device.withOperation("ttnn.matmul", () => make(8192));
    a.deallocate();
    await client.flush();
    await server.waitFor(() => server.events.length === 5, 5000, "5 events");
    assert.deepEqual(contextsOf(server.frames), [
      { type: FrameType.CONTEXT, contextId: 1, text: "ttnn.matmul" },
      { type: FrameType.CONTEXT, contextId: 2, text: "ttnn.conv2d.halo" },
    ]);
    // Every CONTEXT frame arrives before the EVENTS frame that cites it.
    const defined = new Set<number>();
    let cited = 0;
    for (const f of server.frames) {
      if (f.type === FrameType.CONTEXT) defined.add((f.frame as { contextId: number }).contextId);
      if (f.type !== FrameType.EVENTS) continue;
      for (const e of f.events) {
        if ((e.contextId ?? 0) === 0) continue;
        cited++;
        assert.ok(defined.has(e.contextId!), `context ${e.contextId} cited before its definition`);
      }
    }
    assert.equal(cited, 3);
    assert.deepEqual(
      server.events.map((e) => [e.op, e.allocationId, e.contextId ?? 0]),
      [
        [1, a.allocationId, 1],
        [1, b.allocationId, 2],
        [1, c.allocationId, 0],
        [1, d.allocationId, 1],
        [2, a.allocationId, 0],
      ],
    );
    assert.equal(device.currentOperation, "");
  } finally {
    await client.close();
    await server.close();
  }
});

test("a new connection starts with every definition; its snapshot states the live allocations' contexts", async () => {
  const server = await FixtureServer.start();
  const { device, client, make } = setUp(server);
  try {
    await waitFor(() => client.state === "ready", { what: "the client to be ready" });
    const kept = device.withOperation("ttnn.embedding", () => make(4096));
    const plain = make(1024);
    device.withOperation("ttnn.softmax", () => make(2048)).deallocate();
    await client.flush();
    server.destroyConnections();
    await waitFor(() => server.accepted === 2 && client.state === "ready", { what: "the reconnect" });
    await client.flush();
    await server.waitFor(
      () => server.frames.some((f) => f.connection === 1 && f.type === FrameType.SNAPSHOT_END),
      5000,
      "the snapshot on the new connection",
    );
    const second = server.frames.filter((f) => f.connection === 1);
    // HELLO, then the definitions, before anything else.
    assert.equal(helloOf(second[0]!)?.version, 3);
    assert.deepEqual(
      second
        .slice(1, 3)
        .map((f) => (f.type === FrameType.CONTEXT ? (f.frame as { text: string }).text : f.type)),
      ["ttnn.embedding", "ttnn.softmax"],
    );
    const chunk = second.find((f) => f.type === FrameType.SNAPSHOT_CHUNK)!;
    const allocations =
      chunk.type === FrameType.SNAPSHOT_CHUNK
        ? (chunk.frame as { allocations: { allocationId: number; contextId?: number }[] }).allocations
        : [];
    assert.deepEqual(
      allocations.map((a) => [a.allocationId, a.contextId ?? 0]).sort((x, y) => x[0]! - y[0]!),
      [
        [kept.allocationId, 1],
        [plain.allocationId, 0],
      ],
    );
  } finally {
    await client.close();
    await server.close();
  }
});

test("a server that refuses version 3 gets version 2: no CONTEXT, no context ids, nothing lost, no error", async () => {
  const server = await FixtureServer.start({ versions: [1, 2] });
  const errors: ClientError[] = [];
  const { device, client, make } = setUp(server, errors);
  try {
    await waitFor(() => client.state === "ready", { what: "the client to be ready on version 2" });
    const hellos = server.frames.map(helloOf).filter((h) => h !== undefined);
    assert.deepEqual(
      hellos.map((h) => h.version),
      [3, 2],
    );
    const buffer = device.withOperation("ttnn.matmul", () => make(4096));
    await client.flush();
    await server.waitFor(() => server.events.length >= 1, 5000, "the event");
    const accepted = server.frames.filter((f) => f.connection === 1);
    assert.ok(accepted.every((f) => f.type !== FrameType.CONTEXT));
    assert.deepEqual(
      server.events.map((e) => [e.allocationId, e.contextId ?? 0]),
      [[buffer.allocationId, 0]],
    );
    assert.ok(!server.frames.some((f) => f.type === FrameType.ERROR), "every frame decoded as version 2");
    assert.deepEqual(errors, []);
  } finally {
    await client.close();
    await server.close();
  }
});

test(`at most ${MAX_CLIENT_CONTEXTS} texts are defined; later new ones are sent without a context`, async () => {
  const server = await FixtureServer.start();
  const { client } = setUp(server);
  try {
    await waitFor(() => client.state === "ready", { what: "the client to be ready" });
    const total = MAX_CLIENT_CONTEXTS + 2;
    for (let i = 1; i <= total; i++) client.record(1, 0, 0, i, i, i * 64, 64, 0, `op${i}`);
    await client.flush();
    await server.waitFor(() => server.events.length === total, 10_000, "every event");
    assert.equal(contextsOf(server.frames).length, MAX_CLIENT_CONTEXTS);
    const events = server.events;
    assert.equal(events[MAX_CLIENT_CONTEXTS - 1]!.contextId, MAX_CLIENT_CONTEXTS);
    assert.equal(events[MAX_CLIENT_CONTEXTS]!.contextId, undefined);
    assert.equal(events[total - 1]!.contextId, undefined);
  } finally {
    await client.close();
    await server.close();
  }
});
