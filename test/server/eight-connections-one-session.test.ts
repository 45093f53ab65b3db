// Issue 17's exactness check, over real sockets: one session on 8 connections, every FREE sent on another
// connection than its ALLOC, the connections' frames written in a random order (each connection FIFO, the
// connections interleaved anyhow). The server must end with exactly the live set the program leaves, no
// anomaly, no stale event, no resync.
import assert from "node:assert/strict";
import { test } from "node:test";
import { waitFor } from "../support/wait-for.js";
import { newSessionId, RawClient } from "./raw-client.js";
import { sessionProgram } from "./session-program.js";
import { startTestServer } from "./test-server.js";

const CONNECTIONS = 8;
const EVENTS = 6000;

for (const seed of [1, 2, 3]) {
  test(`8 connections, frees on other connections than their allocations, any order of frames: exact (seed ${seed})`, async (t) => {
    const server = await startTestServer();
    t.after(() => server.stop());
    const sessionId = newSessionId();
    const clients: RawClient[] = [];
    for (let c = 0; c < CONNECTIONS; c++)
      clients.push(await RawClient.handshake(server.socketPath, { sessionId }));
    t.after(() => {
      for (const client of clients) client.end();
    });

    const { frames, live } = sessionProgram(seed, CONNECTIONS, EVENTS);
    for (const frame of frames) clients[frame.connection]!.send(frame.bytes);

    let expectedBytes = 0;
    for (const a of live.values()) expectedBytes += a.sizeBytes;
    await waitFor(() => server.queries.summary().server.eventsApplied === EVENTS, {
      what: `all ${EVENTS} events applied`,
    });
    const summary = server.queries.summary();
    assert.equal(summary.devices[0]!.memory.DRAM.used, expectedBytes);
    assert.equal(summary.devices[0]!.memory.DRAM.allocations, live.size);
    assert.equal(summary.server.eventsStale, 0);
    assert.equal(summary.server.resyncRequests, 0);
    assert.equal(server.queries.anomalies().total, 0);
  });
}
