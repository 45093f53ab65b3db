// GET /api/v1/series over real HTTP: the buckets of a device and of each session on it, `since`, and
// clear 400/404 answers for every malformed request.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { encodeEvents } from "../../src/protocol/encode-frame.js";
import { API_MEMORY_TYPES } from "../../src/server/api-types.js";
import { waitFor } from "../support/wait-for.js";
import { newSessionId, RawClient } from "./raw-client.js";
import { startTestServer, type TestServer } from "./test-server.js";

let server: TestServer;
let client: RawClient;
const sessionId = newSessionId();

before(async () => {
  server = await startTestServer();
  client = await RawClient.handshake(server.socketPath, { sessionId, name: "series-test" });
  // A CB burst (alloc then free) and 8 KiB of DRAM left in use.
  const common = { deviceId: 0, timestampNs: 0, address: 0x4000 };
  client.send(
    encodeEvents([
      { op: 1, seq: 1, memoryType: 5, allocationId: 1, sizeBytes: 65536, ...common },
      { op: 2, seq: 2, memoryType: 5, allocationId: 1, sizeBytes: 65536, ...common },
      { op: 1, seq: 3, memoryType: 0, allocationId: 2, sizeBytes: 8192, ...common },
    ]),
  );
  await waitFor(() => server.queries.summary().server.eventsApplied === 3, { what: "the 3 events" });
});
after(async () => {
  client.destroy();
  await server.stop();
});

test("series: the device and its session, every type named, bursts as max", async () => {
  const { status, body } = await server.get("/api/v1/series?device=0");
  assert.equal(status, 200);
  assert.equal(body.bucketMs, 1000);
  assert.equal(body.windowMs, 900_000);
  assert.equal(body.devices.length, 1);
  assert.equal(body.processes.length, 1);
  const [device] = body.devices;
  const [process] = body.processes;
  assert.equal(device.id, 0);
  assert.deepEqual(
    [process.sessionId, process.pid, process.deviceId],
    [sessionId, globalThis.process.pid, 0],
  );
  for (const used of [device.used, process.used]) {
    assert.deepEqual(Object.keys(used), [...API_MEMORY_TYPES]);
    assert.ok(
      used.CB.some((b: { max: number }) => b.max === 65536),
      JSON.stringify(used.CB),
    );
    assert.equal(used.CB.at(-1).last, 0);
    assert.equal(used.DRAM.at(-1).last, 8192);
    assert.deepEqual(used.L1, []);
    for (const bucket of used.DRAM) {
      assert.equal(bucket.t % 1000, 0);
      assert.ok(bucket.min <= bucket.last && bucket.last <= bucket.max);
    }
  }
});

test("series: since keeps only buckets at or after it", async () => {
  const future = (Math.floor(Date.now() / 1000) + 3600) * 1000;
  const { status, body } = await server.get(`/api/v1/series?device=0&since=${future}`);
  assert.equal(status, 200);
  assert.deepEqual(body.devices[0].used.DRAM, []);
  const now = await server.get(`/api/v1/series?device=0&since=${Date.now() - 1000}`);
  assert.ok(now.body.devices[0].used.DRAM.length <= 2);
  assert.ok(now.body.devices[0].used.DRAM.length >= 1);
});

const invalid: [string, number, string, RegExp][] = [
  ["no device", 400, "/api/v1/series", /device is required/],
  ["device not a number", 400, "/api/v1/series?device=abc", /device id must be an integer in 0\.\.65534/],
  ["device out of range", 400, "/api/v1/series?device=65535", /device id must be an integer/],
  ["since negative", 400, "/api/v1/series?device=0&since=-5", /since must be a whole number of ms/],
  ["since fractional", 400, "/api/v1/series?device=0&since=1.5", /since must be a whole number of ms/],
  ["since too large", 400, "/api/v1/series?device=0&since=99999999999999999", /since must be a whole/],
  ["unknown parameter", 400, "/api/v1/series?device=0&limit=3", /unknown query parameter "limit"/],
  ["unknown device", 404, "/api/v1/series?device=9", /no device 9/],
];

for (const [name, status, path, message] of invalid) {
  test(`series refused: ${name}`, async () => {
    const response = await server.get(path);
    assert.equal(response.status, status);
    assert.equal(response.body.error.code, status === 404 ? "HTTP_NOT_FOUND" : "HTTP_BAD_REQUEST");
    assert.match(response.body.error.message, message);
  });
}

test("series: only GET", async () => {
  const response = await fetch(`${server.httpUrl}/api/v1/series?device=0`, { method: "DELETE" });
  assert.equal(response.status, 405);
});
