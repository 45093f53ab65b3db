// Issue 9, finding 4: half-received frames are held within one budget shared by all connections. 20
// connections each hold 900 KiB of a frame they never finish, against a 4 MiB budget: all but a few are
// closed with ERROR SERVER_BUDGET_EXCEEDED, the bytes the server accounts never pass the budget, and a
// well-behaved client sending split frames all along stays connected and exact.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeEvents } from "../../src/protocol/encode-frame.js";
import { type ErrorFrame, FrameType } from "../../src/protocol/frames.js";
import { writeU32 } from "../../src/protocol/little-endian.js";
import { ManualTimers } from "../../src/server/timers.js";
import { waitFor } from "../support/wait-for.js";
import { newSessionId, RawClient } from "./raw-client.js";
import { startTestServer } from "./test-server.js";

const BUDGET_BYTES = 4 * 1024 * 1024;
const HOSTILES = 20;
const HELD_BYTES = 900 * 1024;
/** The frame each hostile connection announces and never finishes. */
const FRAME_BYTES = HELD_BYTES + 64;
const SEND_PIECE_BYTES = 100 * 1024;
const CANARY_EVENTS_PER_FRAME = 50;

function budgetError(client: RawClient): ErrorFrame | undefined {
  return client.frames.find(
    (f): f is ErrorFrame => f.type === FrameType.ERROR && f.code === "SERVER_BUDGET_EXCEEDED",
  );
}

test("20 connections holding 900 KiB partial frames against a 4 MiB budget: closed, accounted, canary exact", async (t) => {
  // Timers never advance: no HELLO deadline gets in the way of the hostiles, who send no HELLO.
  const server = await startTestServer({ bufferBudgetBytes: BUDGET_BYTES, timers: new ManualTimers() });
  t.after(() => server.stop());
  const sessionId = newSessionId();
  const canary = await RawClient.handshake(server.socketPath, { sessionId });
  let canarySeq = 0;
  // Each canary frame goes in two writes, so that the server assembles it across chunks.
  const canaryFrame = () => {
    const events = Array.from({ length: CANARY_EVENTS_PER_FRAME }, () => {
      canarySeq++;
      return {
        op: 1 as const,
        deviceId: 0,
        memoryType: 0 as const,
        seq: canarySeq,
        allocationId: canarySeq,
        address: canarySeq * 4096,
        sizeBytes: 4096,
        timestampNs: 0,
      };
    });
    const bytes = encodeEvents(events);
    const half = bytes.length >> 1;
    canary.send(bytes.subarray(0, half));
    canary.send(bytes.subarray(half));
  };

  const hostiles = await Promise.all(
    Array.from({ length: HOSTILES }, () => RawClient.connect(server.socketPath)),
  );
  const header = new Uint8Array(5);
  writeU32(header, 0, FRAME_BYTES);
  header[4] = FrameType.EVENTS;
  for (const hostile of hostiles) hostile.send(header);
  const piece = new Uint8Array(SEND_PIECE_BYTES);
  for (let sent = 1; sent < HELD_BYTES; sent += SEND_PIECE_BYTES) {
    for (const hostile of hostiles) {
      if (hostile.isOpen) hostile.send(piece.subarray(0, Math.min(SEND_PIECE_BYTES, HELD_BYTES - sent)));
    }
    canaryFrame();
  }

  const closed = () => hostiles.filter((h) => budgetError(h) !== undefined).length;
  // At most 4 frames of 900 KiB fit in 4 MiB: the others must go.
  await waitFor(() => closed() >= HOSTILES - 4, {
    what: `at least ${HOSTILES - 4} hostile connections to get ERROR SERVER_BUDGET_EXCEEDED`,
    detail: () => `${closed()} got it; the server accounts ${server.bufferBudget?.usedBytes} bytes`,
  });
  // Settled: every hostile is either closed or charged its whole frame buffer.
  const charged = () => Math.floor(server.bufferBudget.usedBytes / FRAME_BYTES);
  await waitFor(() => closed() + charged() === HOSTILES, {
    what: "every hostile connection to be closed or fully charged",
    detail: () => `${closed()} closed, ${server.bufferBudget.usedBytes} bytes accounted`,
  });
  t.diagnostic(`${closed()} closed, ${charged()} kept; peak ${server.bufferBudget.peakBytes} bytes`);
  assert.ok(
    server.bufferBudget.peakBytes <= BUDGET_BYTES,
    `the server accounted at most ${server.bufferBudget.peakBytes} bytes`,
  );
  const error = budgetError(hostiles.find((h) => budgetError(h) !== undefined)!)!;
  assert.match(error.message, /buffer budget of 4194304 bytes is full/);
  await Promise.all(hostiles.filter((h) => budgetError(h) !== undefined).map((h) => h.closed));

  canaryFrame();
  const live = () => server.queries.summary().processes.find((p) => p.sessionId === sessionId)?.devices[0];
  await waitFor(() => live()?.allocations === canarySeq, {
    what: `all ${canarySeq} canary allocations to be applied`,
    detail: () => JSON.stringify(live()),
  });
  assert.equal(live()!.used.DRAM, canarySeq * 4096);
  assert.ok(canary.isOpen);
  assert.deepEqual(
    canary.frames.map((f) => f.type),
    [FrameType.WELCOME],
  );
  assert.equal(server.queries.summary().anomalies.total, 0, "budget closures are not data anomalies");

  for (const hostile of hostiles) hostile.destroy();
  await waitFor(() => server.bufferBudget.usedBytes <= 4096, {
    what: "closed connections to give their bytes back (the canary may keep one small buffer)",
  });
  canary.destroy();
});

test("idle connections' leftover frame buffers are reclaimed under pressure, without closing anyone", async (t) => {
  const budgetBytes = 2 * 1024 * 1024;
  const server = await startTestServer({ bufferBudgetBytes: budgetBytes, timers: new ManualTimers() });
  t.after(() => server.stop());
  // Three clients each send one valid 576 KB EVENTS frame; the server reads it in pieces and keeps the
  // assembly buffer for the next frame: memory it really holds, so it is charged.
  const events = Array.from({ length: 12_000 }, (_, i) => ({
    op: 1 as const,
    deviceId: 0,
    memoryType: 0 as const,
    seq: i + 1,
    allocationId: i + 1,
    address: (i + 1) * 64,
    sizeBytes: 64,
    timestampNs: 0,
  }));
  const bigFrame = encodeEvents(events);
  const idle: RawClient[] = [];
  for (let i = 0; i < 3; i++) {
    const sessionId = newSessionId();
    const client = await RawClient.handshake(server.socketPath, { sessionId });
    client.send(bigFrame);
    await waitFor(
      () =>
        server.queries.summary().processes.find((p) => p.sessionId === sessionId)?.devices[0]?.allocations ===
        events.length,
      { what: `client ${i}'s frame to be applied` },
    );
    idle.push(client);
  }
  assert.ok(
    server.bufferBudget.usedBytes === 3 * (bigFrame.length - 4), // a body each, less its length field
    `the leftover buffers are charged: ${server.bufferBudget.usedBytes} bytes`,
  );

  // A fourth client is in the middle of a large frame: the budget is full, the idle buffers go.
  const busy = await RawClient.handshake(server.socketPath);
  const header = new Uint8Array(5);
  writeU32(header, 0, FRAME_BYTES);
  header[4] = FrameType.EVENTS;
  busy.send(header);
  busy.send(new Uint8Array(HELD_BYTES - 1));
  await waitFor(() => server.bufferBudget.usedBytes === FRAME_BYTES, {
    what: "the busy client's frame buffer to be the only bytes charged",
    detail: () => `${server.bufferBudget.usedBytes} bytes charged`,
  });
  assert.ok(server.bufferBudget.peakBytes <= budgetBytes);
  await roundTrip(server);
  for (const client of [...idle, busy]) {
    assert.ok(client.isOpen);
    assert.deepEqual(
      client.frames.map((f) => f.type),
      [FrameType.WELCOME],
    );
  }
  for (const client of [...idle, busy]) client.destroy();
});

/** A handshake round trip on another connection: what the server wrote before has been delivered. */
async function roundTrip(server: { socketPath: string }): Promise<void> {
  (await RawClient.handshake(server.socketPath)).destroy();
}
