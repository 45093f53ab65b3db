// The leak archive the server uses without a history database (bounded, newest first), the bounds of
// one report (64 contexts, 10 largest and oldest), and the releases that record none (server shutdown).
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeContext, encodeGoodbye } from "../../src/protocol/encode-frame.js";
import { EventBatchEncoder } from "../../src/protocol/event-batch-encoder.js";
import type { LeakReport } from "../../src/server/api-types.js";
import {
  LEAK_REPORT_CONTEXT_LIMIT,
  OTHER_CONTEXTS,
  perMemoryType,
} from "../../src/server/leaks/leak-report.js";
import { DEFAULT_MAX_LEAK_REPORTS, MemoryLeakArchive } from "../../src/server/leaks/memory-leak-archive.js";
import { newSessionId, RawClient } from "../server/raw-client.js";
import { startTestServer } from "../server/test-server.js";
import { waitFor } from "../support/wait-for.js";

function report(pid: number): LeakReport {
  return {
    id: 0,
    sessionId: "0".repeat(32),
    pid,
    processName: "p",
    startedAtMs: 1,
    endedAtMs: 2,
    reason: "process-exited",
    allocations: perMemoryType(),
    bytes: perMemoryType(),
    largest: [],
    oldest: [],
    byContext: [],
  };
}

test("the in-memory archive keeps the newest `limit` reports, numbers them, filters by pid", () => {
  assert.equal(new MemoryLeakArchive().limit, DEFAULT_MAX_LEAK_REPORTS);
  assert.throws(() => new MemoryLeakArchive(0), RangeError);
  const archive = new MemoryLeakArchive(3);
  for (const pid of [10, 11, 10, 12, 10]) archive.save(report(pid));
  assert.equal(archive.size, 3);
  assert.deepEqual(
    archive.list({ limit: 10 }).map((r) => [r.id, r.pid]),
    [
      [5, 10],
      [4, 12],
      [3, 10],
    ],
  );
  assert.deepEqual(
    archive.list({ pid: 10, limit: 10 }).map((r) => r.id),
    [5, 3],
  );
  assert.deepEqual(
    archive.list({ limit: 1 }).map((r) => r.id),
    [5],
  );
});

test("a report lists 64 contexts, most bytes first, the rest summed as (other); 10 largest and oldest", async () => {
  const archive = new MemoryLeakArchive();
  const server = await startTestServer({ leakArchive: archive });
  try {
    const sessionId = newSessionId();
    const client = await RawClient.handshake(server.socketPath, { sessionId });
    const contexts = LEAK_REPORT_CONTEXT_LIMIT + 6;
    const encoder = new EventBatchEncoder(contexts);
    for (let id = 1; id <= contexts; id++) {
      client.send(encodeContext({ contextId: id, text: `op${id}` }));
      // Allocation `id` in context `id`, `id` KiB: the bigger the id, the more bytes.
      encoder.append(1, 0, 0, id, id, (id * 1) << 20, id * 1024, 0, id);
    }
    client.send(encoder.finish());
    client.send(encodeGoodbye());
    client.end();
    const [leak] = await waitFor(() => (archive.size === 1 ? archive.list({ limit: 1 }) : undefined), {
      what: "the report of a GOODBYE that left allocations",
    });
    assert.equal(leak!.reason, "goodbye");
    assert.equal(leak!.bytes.DRAM, ((contexts * (contexts + 1)) / 2) * 1024);
    assert.equal(leak!.allocations.DRAM, contexts);
    assert.equal(leak!.byContext.length, LEAK_REPORT_CONTEXT_LIMIT + 1);
    assert.equal(leak!.byContext[0]!.context, `op${contexts}`);
    const other = leak!.byContext[LEAK_REPORT_CONTEXT_LIMIT]!;
    assert.equal(other.context, OTHER_CONTEXTS);
    // The 6 smallest contexts (1..6 KiB) are summed.
    assert.equal(other.bytes.DRAM, (1 + 2 + 3 + 4 + 5 + 6) * 1024);
    assert.equal(other.allocations.DRAM, 6);
    assert.deepEqual(
      leak!.largest.map((a) => a.allocationId),
      Array.from({ length: 10 }, (_, i) => contexts - i),
    );
    assert.equal(leak!.largest[0]!.context, `op${contexts}`);
    assert.equal(leak!.oldest.length, 10);
    // Served by the route as stored.
    assert.deepEqual((await server.get(`/api/v1/leaks?pid=${process.pid}`)).body.reports, [leak]);
  } finally {
    await server.stop();
  }
});

test("a server shutdown records no report (the processes did not end), nor does a session that freed all", async () => {
  const archive = new MemoryLeakArchive();
  const server = await startTestServer({ leakArchive: archive });
  const clean = await RawClient.handshake(server.socketPath);
  const encoder = new EventBatchEncoder(2);
  encoder.append(1, 0, 0, 1, 1, 0, 4096, 0);
  encoder.append(2, 0, 0, 2, 1, 0, 4096, 0);
  clean.send(encoder.finish());
  clean.send(encodeGoodbye());
  clean.end();
  await clean.closed;
  const holding = await RawClient.handshake(server.socketPath);
  const alloc = new EventBatchEncoder(1);
  alloc.append(1, 0, 0, 1, 1, 0, 4096, 0);
  holding.send(alloc.finish());
  await waitFor(() => server.queries.summary().devices[0]?.memory.DRAM.used === 4096, {
    what: "the allocation",
  });
  await server.stop();
  assert.equal(archive.size, 0);
});

test("a FREE waiting behind a missing event is not a leak: the report leaves its allocation out", async () => {
  const archive = new MemoryLeakArchive();
  const server = await startTestServer({ leakArchive: archive });
  try {
    // Session A: ALLOC 1, ALLOC 2, (seq 3 lost), FREE 1 as seq 4: the FREE waits, allocation 1 stays live.
    const a = await RawClient.handshake(server.socketPath);
    const events = new EventBatchEncoder(3);
    events.append(1, 0, 0, 1, 1, 0x10000, 4096, 0);
    events.append(1, 0, 0, 2, 2, 0x20000, 8192, 0);
    events.append(2, 0, 0, 4, 1, 0x10000, 4096, 0);
    a.send(events.finish());
    await waitFor(() => server.queries.summary().devices[0]?.memory.DRAM.used === 4096 + 8192, {
      what: "both allocations live, the FREE waiting",
    });
    a.send(encodeGoodbye());
    a.end();
    const [leak] = await waitFor(() => (archive.size === 1 ? archive.list({ limit: 1 }) : undefined), {
      what: "the report of session A",
    });
    assert.equal(leak!.allocations.DRAM, 1);
    assert.equal(leak!.bytes.DRAM, 8192);
    assert.deepEqual(
      leak!.largest.map((x) => x.allocationId),
      [2],
    );
    // Session B: its only allocation's FREE waits: it held nothing, so no report at all.
    const b = await RawClient.handshake(server.socketPath);
    const only = new EventBatchEncoder(2);
    only.append(1, 0, 0, 1, 7, 0x30000, 4096, 0);
    only.append(2, 0, 0, 3, 7, 0x30000, 4096, 0);
    b.send(only.finish());
    await waitFor(() => server.queries.summary().devices[0]?.memory.DRAM.used === 4096, {
      what: "session B's allocation live, its FREE waiting",
    });
    b.send(encodeGoodbye());
    b.end();
    await b.closed;
    // Released: its device, held by nobody any more, is forgotten.
    await waitFor(() => server.queries.summary().processes.length === 0, { what: "session B released" });
    assert.equal(archive.size, 1);
  } finally {
    await server.stop();
  }
});
