// Issue 17's exactness check, over real sockets: one session on 8 connections, every FREE sent on another
// connection than its ALLOC, the connections' frames written in a random order (each connection FIFO, the
// connections interleaved anyhow). The server must end with exactly the live set the program leaves, no
// anomaly, no stale event, no resync.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EventOp } from "../../src/protocol/event.js";
import { EventBatchEncoder } from "../../src/protocol/event-batch-encoder.js";
import { waitFor } from "../support/wait-for.js";
import { newSessionId, RawClient } from "./raw-client.js";
import { startTestServer } from "./test-server.js";

const CONNECTIONS = 8;
const EVENTS = 6000;
const FRAME_EVENTS = 32;

interface Planned {
  op: number;
  seq: number;
  id: number;
  address: number;
  sizeBytes: number;
}

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

    // The program: ALLOCs and FREEs in seq order, each routed to a connection.
    let state = seed * 7919;
    const next = (bound: number): number => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state % bound;
    };
    const perConnection: Planned[][] = Array.from({ length: CONNECTIONS }, () => []);
    const live = new Map<number, Planned>();
    let nextId = 1;
    for (let seq = 1; seq <= EVENTS; seq++) {
      if (live.size > 0 && next(3) === 0) {
        const ids = [...live.keys()];
        const id = ids[next(ids.length)]!;
        const alloc = live.get(id)!;
        live.delete(id);
        // The FREE goes out on another connection than its ALLOC.
        const connection = (id + 1 + next(CONNECTIONS - 1)) % CONNECTIONS;
        assert.notEqual(connection, id % CONNECTIONS);
        perConnection[connection]!.push({ ...alloc, op: EventOp.FREE, seq });
      } else {
        const id = nextId++;
        const planned = { op: EventOp.ALLOC, seq, id, address: id * 0x1000, sizeBytes: 64 * (1 + next(64)) };
        live.set(id, planned);
        perConnection[id % CONNECTIONS]!.push(planned);
      }
    }

    // Frames of up to FRAME_EVENTS per connection, written connection by connection in a random order.
    const cursors = new Array<number>(CONNECTIONS).fill(0);
    for (;;) {
      const open = cursors.flatMap((at, c) => (at < perConnection[c]!.length ? [c] : []));
      if (open.length === 0) break;
      const c = open[next(open.length)]!;
      const events = perConnection[c]!.slice(cursors[c], cursors[c]! + 1 + next(FRAME_EVENTS));
      cursors[c]! += events.length;
      const encoder = new EventBatchEncoder(events.length);
      for (const e of events) encoder.append(e.op, 0, 0, e.seq, e.id, e.address, e.sizeBytes, 0);
      clients[c]!.send(encoder.finish());
    }

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
