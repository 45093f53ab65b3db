// GET /metrics on a real server: every metric docs/METRICS.md names and the Node process defaults, in a
// text Prometheus's own parser accepts (promtool), the same figures as /api/v1/summary, client-chosen
// process names escaped, per-process series gone with the session, and its error answers.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { request } from "node:http";
import { after, before, test } from "node:test";
import { describeDevice } from "../../src/client/device-description.js";
import { Device } from "../../src/device/device.js";
import { TINY } from "../../src/device/presets.js";
import {
  encodeEvents,
  encodeGoodbye,
  encodeSnapshotBegin,
  encodeSnapshotEnd,
} from "../../src/protocol/encode-frame.js";
import { API_MEMORY_TYPES, ApiRoute } from "../../src/server/api-types.js";
import { InvalidOptionError } from "../../src/server/errors.js";
import { DEFAULT_MAX_PROCESS_SERIES } from "../../src/server/metrics/prometheus-metrics.js";
import { resolveServerOptions } from "../../src/server/options.js";
import { newSessionId, RawClient, TEST_DEVICE, testEvent } from "../server/raw-client.js";
import { startTestServer, type TestServer } from "../server/test-server.js";
import { waitFor } from "../support/wait-for.js";
import { type ExposedSample, parseExposition } from "./exposition.js";

const PROMTOOL = "/usr/bin/promtool";
/** Device 1 has a known layout (TINY preset): an exact memory map; device 0 (TEST_DEVICE) has none. */
const MAPPED_DEVICE = { ...describeDevice(Device.create(TINY, { id: 1 })), deviceId: 1 };
/** Every character the exposition format must escape in a label value, and a few more. */
const HOSTILE_NAME = 'evil"name\\with\nnewline} x{y="1"';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
});

async function scrape(): Promise<{ text: string; samples: ExposedSample[]; contentType: string | null }> {
  const response = await fetch(`${server.httpUrl}${ApiRoute.METRICS}`);
  assert.equal(response.status, 200);
  const text = await response.text();
  return { text, samples: parseExposition(text), contentType: response.headers.get("content-type") };
}

const find = (samples: ExposedSample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

test("every documented metric and the Node defaults are exposed, in text Prometheus's parser accepts", async () => {
  const client = await RawClient.handshake(server.socketPath, { name: HOSTILE_NAME });
  client.send(encodeEvents([testEvent(1), testEvent(2)]));
  await waitFor(() => server.queries.summary().server.eventsApplied >= 2, { what: "two events applied" });
  const { text, samples, contentType } = await scrape();
  assert.match(contentType ?? "", /^text\/plain; version=0\.0\.4/);
  for (const name of [
    "allocwatch_device_memory_used_bytes",
    "allocwatch_device_memory_total_bytes",
    "allocwatch_device_memory_peak_bytes",
    "allocwatch_device_memory_leaked_bytes",
    "allocwatch_device_largest_free_block_bytes",
    "allocwatch_process_memory_used_bytes",
    "allocwatch_process_series_omitted",
    "allocwatch_allocations",
    "allocwatch_events_total",
    "allocwatch_anomalies_total",
    "allocwatch_recoveries_total",
    "allocwatch_sessions",
    "allocwatch_connections",
    "allocwatch_client_dropped_events_total",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "nodejs_heap_size_used_bytes",
  ]) {
    assert.match(text, new RegExp(`^# HELP ${name} \\S`, "m"), `${name} has HELP`);
  }
  // The client's name survives the escaping intact.
  const mine = find(samples, "allocwatch_process_memory_used_bytes", {
    pid: String(process.pid),
    device: "0",
  });
  assert.deepEqual([...new Set(mine.map((s) => s.labels["process"]))], [HOSTILE_NAME]);
  assert.equal(find(mine, "allocwatch_process_memory_used_bytes", { memory_type: "DRAM" })[0]?.value, 8192);
  if (existsSync(PROMTOOL)) {
    const check = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8" });
    // prom-client's own nodejs_* gauges end in _total, which promtool's lint flags; nothing else may.
    const problems = `${check.stdout}${check.stderr}`
      .split("\n")
      .filter((line) => line.trim() !== "" && !line.startsWith("nodejs_"));
    assert.deepEqual(problems, [], "promtool parses and lints the exposition");
  }
  client.send(encodeGoodbye());
  client.end();
});

test("device and server figures are the summary's; a process's series go when its session ends", async () => {
  const sessionId = newSessionId();
  const client = await RawClient.handshake(server.socketPath, { sessionId, name: "holder" });
  // Allocation 3 twice: a DUPLICATE_ALLOCATION anomaly.
  client.send(encodeEvents([testEvent(1), testEvent(2), testEvent(3), { ...testEvent(4), allocationId: 3 }]));
  await waitFor(() => server.queries.summary().server.eventsApplied >= 4, { what: "the events applied" });
  const summary = server.queries.summary();
  const { samples } = await scrape();
  for (const device of summary.devices) {
    for (const type of API_MEMORY_TYPES) {
      const labels = { device: String(device.id), memory_type: type };
      const memory = device.memory[type];
      assert.equal(find(samples, "allocwatch_device_memory_used_bytes", labels)[0]?.value, memory.used);
      assert.equal(find(samples, "allocwatch_device_memory_total_bytes", labels)[0]?.value, memory.total);
      assert.equal(find(samples, "allocwatch_device_memory_peak_bytes", labels)[0]?.value, memory.peak);
      assert.equal(find(samples, "allocwatch_allocations", labels)[0]?.value, memory.allocations);
    }
  }
  assert.equal(find(samples, "allocwatch_events_total")[0]?.value, summary.server.eventsApplied);
  assert.equal(find(samples, "allocwatch_sessions")[0]?.value, summary.server.sessions);
  assert.equal(
    find(samples, "allocwatch_anomalies_total", { kind: "DUPLICATE_ALLOCATION" })[0]?.value,
    summary.anomalies.byKind["DUPLICATE_ALLOCATION"],
  );
  assert.ok((summary.anomalies.byKind["DUPLICATE_ALLOCATION"] ?? 0) >= 1);
  assert.equal(find(samples, "allocwatch_anomalies_total", { kind: "UNKNOWN_FREE" })[0]?.value, 0);
  assert.equal(find(samples, "allocwatch_recoveries_total", { kind: "GAP_TIMEOUT" })[0]?.value, 0);
  const mine = { process: "holder" };
  assert.equal(find(samples, "allocwatch_process_memory_used_bytes", mine).length, API_MEMORY_TYPES.length);

  client.send(encodeGoodbye());
  client.end();
  await waitFor(() => server.sessions.get(sessionId) === undefined, { what: "the session to end" });
  const afterEnd = await scrape();
  assert.deepEqual(find(afterEnd.samples, "allocwatch_process_memory_used_bytes", mine), []);
});

test("events a client dropped and a snapshot covered are counted; a session's first snapshot is not", async () => {
  const client = await RawClient.handshake(server.socketPath, { name: "dropper" });
  const dropped = () => server.queries.summary().server.clientDroppedEvents;
  const before = dropped();
  // First snapshot at watermark 50: what came before went to an earlier server, not counted.
  client.send(encodeSnapshotBegin({ deviceId: 0, watermarkSeq: 50, totalAllocations: 0 }));
  client.send(encodeSnapshotEnd({ deviceId: 0, watermarkSeq: 50 }));
  client.send(encodeEvents([testEvent(51), testEvent(52)]));
  await waitFor(
    () =>
      server.queries.summary().processes.some((p) => p.name === "dropper" && p.devices[0]?.allocations === 2),
    {
      what: "51 and 52 applied",
    },
  );
  assert.equal(dropped(), before);
  // 53..60 never sent (the client's queue was full); 61 arrives and waits; the snapshot at 61 covers them.
  client.send(encodeEvents([testEvent(61)]));
  client.send(encodeSnapshotBegin({ deviceId: 0, watermarkSeq: 61, totalAllocations: 0 }));
  client.send(encodeSnapshotEnd({ deviceId: 0, watermarkSeq: 61 }));
  await waitFor(() => dropped() === before + 8, {
    what: "8 dropped events counted (53..60; 61 was received)",
    detail: () => String(dropped() - before),
  });
  const { samples } = await scrape();
  assert.equal(find(samples, "allocwatch_client_dropped_events_total")[0]?.value, dropped());
  client.send(encodeGoodbye());
  client.end();
});

test("largest free blocks: devices with a known layout get the memory map's figure; others none", async () => {
  const client = await RawClient.handshake(server.socketPath, {
    name: "mapped",
    devices: [TEST_DEVICE, MAPPED_DEVICE],
  });
  const map = (await server.get(`${ApiRoute.deviceMemoryMap(1)}?type=DRAM&buckets=1`)).body;
  assert.equal(map.exact, true);
  const l1 = (await server.get(`${ApiRoute.deviceMemoryMap(1)}?type=L1&buckets=1`)).body;
  const samples = await waitFor(
    async () => {
      const s = (await scrape()).samples;
      return find(s, "allocwatch_device_largest_free_block_bytes", { device: "1", memory_type: "CB" })
        .length > 0
        ? s
        : undefined;
    },
    { what: "device 1's free blocks to be computed" },
  );
  const blocks = (labels: Record<string, string>) =>
    find(samples, "allocwatch_device_largest_free_block_bytes", labels).map((s) => s.value);
  assert.deepEqual(blocks({ device: "1", memory_type: "DRAM" }), [map.largestFreeBlock]);
  assert.deepEqual(blocks({ device: "1", memory_type: "L1" }), [l1.largestFreeBlock]);
  assert.deepEqual(blocks({ device: "1", memory_type: "CB" }), [l1.largestFreeBlock], "CB shares L1's map");
  assert.deepEqual(blocks({ device: "0" }), [], "no layout known: no figure");
  client.send(encodeGoodbye());
  client.end();
});

test("/metrics answers 405 to POST, 400 to a query parameter, 403 to a foreign Host", async () => {
  const post = await fetch(`${server.httpUrl}/metrics`, { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(((await post.json()) as { error: { code: string } }).error.code, "HTTP_METHOD_NOT_ALLOWED");
  const param = await fetch(`${server.httpUrl}/metrics?format=json`);
  assert.equal(param.status, 400);
  assert.match(((await param.json()) as { error: { message: string } }).error.message, /format/);
  const head = await fetch(`${server.httpUrl}/metrics`, { method: "HEAD" });
  assert.equal(head.status, 200);
  const foreign = await new Promise<number>((resolve, reject) => {
    const { port } = server.httpAddress!;
    request({ host: "127.0.0.1", port, path: "/metrics", headers: { host: "attacker.example" } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on("error", reject)
      .end();
  });
  assert.equal(foreign, 403);
});

test("maxMetricsProcessSeries must be a whole number >= 1", () => {
  assert.throws(() => resolveServerOptions({ maxMetricsProcessSeries: 0 }), InvalidOptionError);
  assert.equal(resolveServerOptions({}).maxMetricsProcessSeries, DEFAULT_MAX_PROCESS_SERIES);
});
