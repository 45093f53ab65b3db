// A real server keeping history in a real file, fed by a raw client over its socket: samples of the
// device and of the process, the process's lifetime with what it still held at its end, anomalies,
// clear 400s, 404 without history, and nothing written when startServer is not asked for history.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { encodeEvents, encodeGoodbye } from "../../src/protocol/encode-frame.js";
import type { HistoryResponse, HistorySeries } from "../../src/server/api-types.js";
import { HistoryStore } from "../../src/server/history/history-store.js";
import { newSessionId, RawClient } from "../server/raw-client.js";
import { startTestServer, type TestServer } from "../server/test-server.js";
import { waitFor } from "../support/wait-for.js";
import { tempHistoryDir } from "./history-fixtures.js";

const files = tempHistoryDir();
let server: TestServer;
let client: RawClient;
const sessionId = newSessionId();

before(async () => {
  server = await startTestServer({ history: { path: files.path } });
  client = await RawClient.handshake(server.socketPath, { sessionId, name: "history-test" });
  const common = { deviceId: 0, timestampNs: 0, address: 0x4000 };
  client.send(
    encodeEvents([
      { op: 1, seq: 1, memoryType: 5, allocationId: 1, sizeBytes: 65536, ...common },
      { op: 2, seq: 2, memoryType: 5, allocationId: 1, sizeBytes: 65536, ...common },
      { op: 1, seq: 3, memoryType: 0, allocationId: 2, sizeBytes: 8192, ...common },
      // Freeing what was never allocated: an UNKNOWN_FREE anomaly.
      { op: 2, seq: 4, memoryType: 0, allocationId: 99, sizeBytes: 16, ...common },
    ]),
  );
  await waitFor(() => server.queries.summary().server.eventsApplied >= 3, { what: "the events" });
});
after(async () => {
  client.destroy();
  await server.stop();
  files.remove();
});

async function history(query: string): Promise<HistoryResponse> {
  const { status, body } = await server.get(`/api/v1/history?${query}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body as HistoryResponse;
}

const find = (series: HistorySeries[], type: string) => series.find((s) => s.memoryType === type);

test("the device's and the process's seconds are written and served, bursts as max", async () => {
  const answer = await waitFor(
    async () => {
      const h = await history("device=0&step=1000");
      return find(h.series, "DRAM")?.points.some((p) => p.last === 8192) === true ? h : undefined;
    },
    { what: "a written second with 8192 DRAM bytes", timeoutMs: 20_000 },
  );
  assert.equal(answer.stepMs, 1000);
  const cb = find(answer.series, "CB")!;
  assert.ok(
    cb.points.some((p) => p.max === 65536),
    JSON.stringify(cb.points),
  );
  assert.equal(cb.pid, null);
  for (const point of find(answer.series, "DRAM")!.points) {
    assert.equal(point.t % 1000, 0);
    assert.ok(point.min <= point.last && point.last <= point.max);
  }
  const mine = await history(`pid=${process.pid}&step=1000`);
  const dram = find(mine.series, "DRAM")!;
  assert.deepEqual([dram.pid, dram.sessionId, dram.processName], [process.pid, sessionId, "history-test"]);
  assert.equal(dram.points.at(-1)!.last, 8192);
  assert.ok(
    answer.anomalies.some((a) => a.kind === "UNKNOWN_FREE" && a.pid === process.pid),
    JSON.stringify(answer.anomalies),
  );
  assert.deepEqual(
    answer.lifetimes.map((l) => [l.sessionId, l.endedAtMs]),
    [[sessionId, null]],
  );
});

test("a session that says goodbye holding memory ends with its leaked bytes and peaks", async () => {
  client.send(encodeGoodbye());
  client.end();
  await client.closed;
  const lifetime = await waitFor(
    async () => (await history(`pid=${process.pid}`)).lifetimes.find((l) => l.endedAtMs !== null),
    { what: "the ended lifetime", timeoutMs: 20_000 },
  );
  assert.equal(lifetime.endReason, "goodbye");
  assert.equal(lifetime.processName, "history-test");
  assert.equal(lifetime.source, "native");
  assert.equal(lifetime.leakedBytes.DRAM, 8192);
  assert.equal(lifetime.leakedBytes.CB, 0);
  assert.deepEqual(
    lifetime.devices.map((d) => [d.deviceId, d.peakBytes.CB, d.peakBytes.DRAM, d.leakedBytes.DRAM]),
    [[0, 65536, 8192, 8192]],
  );
  assert.ok(lifetime.startedAtMs <= lifetime.endedAtMs!);
});

test("a process that lived less than a second still has its seconds", async () => {
  const brief = newSessionId();
  const c = await RawClient.handshake(server.socketPath, { sessionId: brief, name: "brief" });
  c.send(
    encodeEvents([
      {
        op: 1,
        seq: 1,
        memoryType: 3,
        allocationId: 1,
        sizeBytes: 777,
        deviceId: 0,
        timestampNs: 0,
        address: 0,
      },
    ]),
  );
  c.send(encodeGoodbye());
  c.end();
  await c.closed;
  await waitFor(() => server.sessions.get(brief) === undefined, { what: "the brief session released" });
  const series = await waitFor(
    async () =>
      (await history(`pid=${process.pid}&type=L1_SMALL&step=1000`)).series.find((s) => s.sessionId === brief),
    { what: "the brief session's L1_SMALL series", timeoutMs: 20_000 },
  );
  assert.equal(series.processName, "brief");
  assert.ok(
    series.points.some((p) => p.max === 777),
    JSON.stringify(series.points),
  );
});

test("malformed queries are 400 with the code; the answer is bounded and says its limits", async () => {
  const bad = await server.get("/api/v1/history?type=HBM");
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, "HTTP_BAD_REQUEST");
  assert.match(bad.body.error.message, /type must be one of DRAM/);
  const h = await history("");
  assert.equal(h.maxPoints, 10_000);
  assert.equal(h.retentionMs, 7 * 86_400_000);
});

test("without history: 404 that says why, and startServer writes no file", async () => {
  const state = tempHistoryDir();
  const saved = process.env["XDG_STATE_HOME"];
  process.env["XDG_STATE_HOME"] = state.dir;
  const plain = await startTestServer();
  try {
    const { status, body } = await plain.get("/api/v1/history");
    assert.equal(status, 404);
    assert.match(body.error.message, /keeps no history/);
    assert.deepEqual(readdirSync(state.dir), []);
  } finally {
    await plain.stop();
    if (saved === undefined) delete process.env["XDG_STATE_HOME"];
    else process.env["XDG_STATE_HOME"] = saved;
    state.remove();
  }
});

// Also with ingest threads: the shards' last updates (their sessions released at shutdown) reach the
// history before the database closes.
for (const ingestThreads of [1, 2]) {
  test(`a clean stop ends the live lifetimes and keeps the samples for the next start (${ingestThreads} ingest threads)`, async () => {
    const other = tempHistoryDir();
    const first = await startTestServer({ history: { path: other.path }, ingestThreads });
    const c = await RawClient.handshake(first.socketPath, { name: "short-lived" });
    c.send(
      encodeEvents([
        {
          op: 1,
          seq: 1,
          memoryType: 1,
          allocationId: 1,
          sizeBytes: 2048,
          deviceId: 0,
          timestampNs: 0,
          address: 0,
        },
      ]),
    );
    await waitFor(
      async () =>
        ((await first.get("/api/v1/history?type=L1&step=1000")).body as HistoryResponse).series.length > 0,
      { what: "an L1 second written", timeoutMs: 20_000 },
    );
    c.destroy();
    await first.stop();
    const store = HistoryStore.open(other.path, 86_400_000, Date.now());
    try {
      const { parseHistoryRequest } = await import("../../src/server/history/history-request.js");
      const h = store.history(parseHistoryRequest(new URLSearchParams("type=L1&step=1000"), Date.now()));
      assert.equal(h.series[0]!.points.at(-1)!.last, 2048);
      assert.deepEqual(
        h.lifetimes.map((l) => l.endReason),
        ["server-shutdown"],
      );
    } finally {
      store.close();
      other.remove();
    }
  });
}
