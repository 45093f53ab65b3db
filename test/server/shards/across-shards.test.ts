// Issue 17's exactness check with ingest shards: 4 processes (so 4 pids, placed on different shards), each
// one session on 2 connections with every FREE on the other connection than its ALLOC, all on device 0.
// The device's totals (summed by the main thread's mirror), each process's, the merged allocation list
// and the counters must be exact, with no anomaly, no stale event, no resync; on worker threads and with
// the shards on the main thread.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { waitFor } from "../../support/wait-for.js";
import { startTestServer } from "../test-server.js";

const PROCESSES = 4;
const CONNECTIONS = 2;
const EVENTS = 4000;
const SCRIPT = fileURLToPath(new URL("./session-process.js", import.meta.url));

interface Expected {
  pid: number;
  sessionId: string;
  events: number;
  bytes: number;
  allocations: number;
  largest: { id: number; sizeBytes: number; address: number };
}

for (const where of ["worker threads", "the main thread"] as const) {
  test(`4 processes × 2 connections across 4 ingest shards on ${where}, frees on other connections: exact`, async (t) => {
    const server = await startTestServer({
      ingestThreads: 4,
      shardsOnMainThread: where === "the main thread",
    });
    t.after(() => server.stop());
    const children: ChildProcess[] = [];
    t.after(() => {
      for (const child of children) child.kill();
    });
    const expected = await Promise.all(
      Array.from({ length: PROCESSES }, async (_, i) => {
        const child = spawn(
          process.execPath,
          [SCRIPT, server.socketPath, String(i + 1), String(CONNECTIONS), String(EVENTS)],
          { stdio: ["pipe", "pipe", "inherit"] },
        );
        children.push(child);
        const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
        return JSON.parse(line) as Expected;
      }),
    );

    await waitFor(() => server.queries.summary().server.eventsApplied === PROCESSES * EVENTS, {
      what: `all ${PROCESSES * EVENTS} events applied`,
    });
    const summary = server.queries.summary();
    const device = summary.devices.find((d) => d.id === 0)!;
    const bytes = expected.reduce((sum, e) => sum + e.bytes, 0);
    const allocations = expected.reduce((sum, e) => sum + e.allocations, 0);
    assert.equal(device.memory.DRAM.used, bytes);
    assert.equal(device.memory.DRAM.allocations, allocations);
    assert.equal(summary.server.connections, PROCESSES * CONNECTIONS);
    assert.equal(summary.server.eventsStale, 0);
    assert.equal(summary.server.resyncRequests, 0);
    assert.equal(server.queries.anomalies().total, 0);
    for (const e of expected) {
      const process = summary.processes.find((p) => p.sessionId === e.sessionId)!;
      assert.equal(process.pid, e.pid);
      assert.equal(process.connections, CONNECTIONS);
      assert.equal(process.devices[0]!.used.DRAM, e.bytes);
      assert.equal(process.devices[0]!.allocations, e.allocations);
    }

    // The list merged from every shard: the total and the largest first.
    const list = server.queries.allocations(0, "size", 10_000, undefined)!;
    assert.equal(list.total, allocations);
    assert.equal(list.allocations.length, allocations);
    const listedBytes = list.allocations.reduce((sum, a) => sum + a.sizeBytes, 0);
    assert.equal(listedBytes, bytes);
    for (let i = 1; i < list.allocations.length; i++) {
      assert.ok(list.allocations[i - 1]!.sizeBytes >= list.allocations[i]!.sizeBytes, "size order");
    }
    const one = server.queries.allocations(0, "size", 10, expected[2]!.sessionId)!;
    assert.equal(one.total, expected[2]!.allocations);
    assert.equal(one.allocations[0]!.sizeBytes, expected[2]!.largest.sizeBytes);
    // The device's series ends at what is used now.
    const series = server.queries.series(0, 0)!;
    assert.equal(series.devices[0]!.used.DRAM.at(-1)!.last, bytes);
    // The map of the device spread over 4 shards lists every allocation of every shard, once.
    const map = server.queries.memoryMap(0, "DRAM", 65_536)!;
    assert.equal(map.exact, true, map.reason);
    assert.equal(map.allocations, allocations);
    assert.equal(map.usedBytes, bytes);
    const key = (a: { sessionId: string; allocationId: number; address: number }) =>
      `${a.sessionId}/${a.allocationId}/${a.address}`;
    assert.deepEqual(
      map.extents.map(key).sort(),
      list.allocations.map(key).sort(),
      "the map's extents are the listed allocations",
    );
    assert.deepEqual(
      map.extents.map((e) => e.address),
      [...map.extents.map((e) => e.address)].sort((a, b) => a - b),
      "in address order",
    );

    // The processes leave: their sessions are released, their allocations reported as leaks.
    for (const child of children) child.stdin!.end();
    await waitFor(() => server.queries.summary().processes.length === 0, { what: "every session released" });
    assert.equal(server.queries.summary().devices.find((d) => d.id === 0)?.memory.DRAM.used ?? 0, 0);
    assert.equal(server.queries.leaks(undefined, 100).reports.length, PROCESSES);
  });
}
