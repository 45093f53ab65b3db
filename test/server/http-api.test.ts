// The query API: shapes of summary / allocations / anomalies / healthz, sorting and limits, and clear
// 4xx JSON errors for every malformed request.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { encodeEvents } from "../../src/protocol/encode-frame.js";
import { API_MEMORY_TYPES } from "../../src/server/api-types.js";
import { waitFor } from "../support/wait-for.js";
import { newSessionId, RawClient, TEST_DEVICE } from "./raw-client.js";
import { startTestServer, type TestServer } from "./test-server.js";

let server: TestServer;
let client: RawClient;
const sessionId = newSessionId();
const sizes = [300, 100, 500, 200, 400];

before(async () => {
  server = await startTestServer();
  client = await RawClient.handshake(server.socketPath, { sessionId, name: "api-test" });
  // Ids 1..5 with addresses descending and sizes mixed; id 3 is L1.
  client.send(
    encodeEvents(
      sizes.map((sizeBytes, i) => ({
        op: 1 as const,
        deviceId: 0,
        memoryType: (i === 2 ? 1 : 0) as 0 | 1,
        seq: i + 1,
        allocationId: i + 1,
        address: (10 - i) * 4096,
        sizeBytes,
        timestampNs: 0,
      })),
    ),
  );
  await waitFor(() => server.queries.summary().devices[0]?.allocations === 5, { what: "the 5 allocations" });
});
after(async () => {
  client.destroy();
  await server.stop();
});

test("summary: every memory type per device, per-process usage, anomalies and server info", async () => {
  const { status, body } = await server.get("/api/v1/summary");
  assert.equal(status, 200);
  const [device] = body.devices;
  assert.equal(device.id, 0);
  assert.equal(device.name, TEST_DEVICE.name);
  assert.equal(device.architecture, TEST_DEVICE.architecture);
  assert.deepEqual(Object.keys(device.memory), [...API_MEMORY_TYPES]);
  assert.deepEqual(device.memory.DRAM, {
    used: 1000,
    total: TEST_DEVICE.capacityBytes[0],
    peak: 1000,
    allocations: 4,
    leaked: 0,
  });
  assert.deepEqual(device.memory.L1, {
    used: 500,
    total: TEST_DEVICE.capacityBytes[1],
    peak: 500,
    allocations: 1,
    leaked: 0,
  });
  assert.equal(device.allocations, 5);
  assert.deepEqual(device.sources, ["reported"]);
  assert.deepEqual(device.holders, []);
  const process = body.processes.find((p: { sessionId: string }) => p.sessionId === sessionId);
  assert.equal(process.pid, globalThis.process.pid);
  assert.equal(process.name, "api-test");
  assert.equal(process.state, "connected");
  assert.equal(process.connections, 1);
  assert.equal(process.devices[0].used.DRAM, 1000);
  assert.equal(process.devices[0].used.L1, 500);
  assert.deepEqual(body.anomalies, { total: 0, byKind: {} });
  assert.equal(body.server.sessions, 1);
  assert.equal(body.server.connections, 1);
  assert.equal(body.server.eventsApplied, 5);
  assert.equal(body.server.socketPath, server.socketPath);
  assert.equal(typeof body.server.version, "string");
  assert.ok(body.server.uptimeMs >= 0);
});

test("allocations: sorted by size (default), address or age, limited, filtered by session", async () => {
  const ids = async (query: string) => {
    const { status, body } = await server.get(`/api/v1/devices/0/allocations${query}`);
    assert.equal(status, 200, JSON.stringify(body));
    return body.allocations.map((a: { allocationId: number }) => a.allocationId);
  };
  assert.deepEqual(await ids(""), [3, 5, 1, 4, 2]);
  assert.deepEqual(await ids("?sort=address"), [5, 4, 3, 2, 1]);
  assert.deepEqual(await ids("?sort=size&limit=2"), [3, 5]);
  assert.deepEqual(await ids("?sort=age&limit=10000"), [1, 2, 3, 4, 5]);
  assert.deepEqual(await ids(`?session=${sessionId}&limit=1`), [3]);
  assert.deepEqual(await ids(`?session=${"0".repeat(32)}`), []);
  const { body } = await server.get("/api/v1/devices/0/allocations?limit=1");
  assert.equal(body.total, 5);
  assert.deepEqual(Object.keys(body.allocations[0]).sort(), [
    "address",
    "ageMs",
    "allocationId",
    "context",
    "deviceId",
    "memoryType",
    "pid",
    "sessionId",
    "sizeBytes",
  ]);
  assert.equal(body.allocations[0].memoryType, "L1");
});

test("anomalies and healthz", async () => {
  const anomalies = await server.get("/api/v1/anomalies");
  assert.equal(anomalies.status, 200);
  assert.deepEqual(anomalies.body, { total: 0, byKind: {}, recent: [] });
  const health = await server.get("/healthz");
  assert.equal(health.status, 200);
  assert.equal(health.body.status, "ok");
});

const badRequests: [string, number, string][] = [
  ["/api/v1/devices/0/allocations?limit=0", 400, "HTTP_BAD_REQUEST"],
  ["/api/v1/devices/0/allocations?limit=10001", 400, "HTTP_BAD_REQUEST"],
  ["/api/v1/devices/0/allocations?limit=abc", 400, "HTTP_BAD_REQUEST"],
  ["/api/v1/devices/0/allocations?limit=1.5", 400, "HTTP_BAD_REQUEST"],
  ["/api/v1/devices/0/allocations?sort=name", 400, "HTTP_BAD_REQUEST"],
  ["/api/v1/devices/0/allocations?session=xyz", 400, "HTTP_BAD_REQUEST"],
  ["/api/v1/devices/0/allocations?colour=red", 400, "HTTP_BAD_REQUEST"],
  ["/api/v1/devices/-1/allocations", 400, "HTTP_BAD_REQUEST"],
  ["/api/v1/devices/abc/allocations", 400, "HTTP_BAD_REQUEST"],
  ["/api/v1/devices/65535/allocations", 400, "HTTP_BAD_REQUEST"],
  ["/api/v1/devices/7/allocations", 404, "HTTP_NOT_FOUND"],
  ["/api/v1/nothing", 404, "HTTP_NOT_FOUND"],
  ["/nothing", 404, "HTTP_NOT_FOUND"],
  ["/assets/nothing.js", 404, "HTTP_NOT_FOUND"],
];

for (const [path, status, code] of badRequests) {
  test(`GET ${path} → ${status} ${code}`, async () => {
    const response = await server.get(path);
    assert.equal(response.status, status);
    assert.equal(response.body.error.code, code);
    assert.ok(response.body.error.message.length > 0);
  });
}

test("POST → 405 HTTP_METHOD_NOT_ALLOWED", async () => {
  const response = await fetch(`${server.httpUrl}/api/v1/summary`, { method: "POST", body: "{}" });
  assert.equal(response.status, 405);
  assert.equal(
    ((await response.json()) as { error: { code: string } }).error.code,
    "HTTP_METHOD_NOT_ALLOWED",
  );
});
