// Issue 9 finding 2: device ids are the client's to announce, not to invent. Only ids a HELLO of the
// session announced are accepted in EVENTS and snapshots (others: ERROR SERVER_UNKNOWN_DEVICE, closed);
// a session announces at most `maxDevicesPerSession` ids (`serve --max-devices-per-session`); and a
// device description lives only as long as a session that gave it, so a departed liar's name (and the
// device itself, when nobody else uses it) leaves with it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  encodeEvents,
  encodeGoodbye,
  encodeSnapshotBegin,
  encodeSnapshotEnd,
} from "../../src/protocol/encode-frame.js";
import { type ErrorFrame, FrameType } from "../../src/protocol/frames.js";
import type { SummaryResponse } from "../../src/server/api-types.js";
import { waitFor } from "../support/wait-for.js";
import { helloBytes, newSessionId, RawClient, TEST_DEVICE, testEvent } from "./raw-client.js";
import { startTestServer, type TestServer, tempSocketPath } from "./test-server.js";

let server: TestServer;
before(async () => {
  server = await startTestServer({ maxDevicesPerSession: 2 });
});
after(async () => {
  await server.stop();
});

const alloc = (deviceId: number, seq: number) => testEvent(seq, deviceId);
const device = (deviceId: number, name = `dev-${deviceId}`, dram = TEST_DEVICE.capacityBytes[0]) => ({
  ...TEST_DEVICE,
  deviceId,
  name,
  capacityBytes: [dram, ...TEST_DEVICE.capacityBytes.slice(1)],
});
const listed = (id: number) => server.queries.summary().devices.find((d) => d.id === id);

async function errorOf(client: RawClient): Promise<ErrorFrame> {
  const frame = (await client.waitFor((f) => f.type === FrameType.ERROR)) as ErrorFrame;
  await client.closed;
  return frame;
}

/** Sends GOODBYE, closes, and waits until the server has released the session. */
async function leave(client: RawClient, sessionId: string): Promise<void> {
  client.send(encodeGoodbye());
  client.end();
  await client.closed;
  await waitFor(() => server.sessions.get(sessionId) === undefined, {
    what: `session ${sessionId} released`,
  });
}

test("EVENTS naming a device the HELLO did not announce: ERROR SERVER_UNKNOWN_DEVICE, nothing kept", async () => {
  const sessionId = newSessionId();
  const client = await RawClient.handshake(server.socketPath, { sessionId, devices: [device(40)] });
  client.send(encodeEvents([alloc(40, 1), alloc(41, 1)]));
  const error = await errorOf(client);
  assert.equal(error.code, "SERVER_UNKNOWN_DEVICE");
  assert.match(error.message, /device 41 was not announced/);
  assert.equal(listed(41), undefined, "an unannounced id is not listed");
  assert.equal(server.queries.allocations(41, "size", 10, undefined), undefined, "nor kept at all");
  // The records before it were applied; the session itself lives on (its process may reconnect).
  assert.equal(listed(40)?.allocations, 1);
  const other = await RawClient.handshake(server.socketPath, { sessionId, devices: [device(40)] });
  other.send(encodeEvents([alloc(40, 2)]));
  await waitFor(() => listed(40)?.allocations === 2, { what: "the session's next connection to be served" });
  await leave(other, sessionId);
});

test("a snapshot of a device the HELLO did not announce: ERROR SERVER_UNKNOWN_DEVICE", async () => {
  const client = await RawClient.handshake(server.socketPath, { devices: [device(42)] });
  client.send(encodeSnapshotBegin({ deviceId: 43, watermarkSeq: 0, totalAllocations: 0 }));
  client.send(encodeSnapshotEnd({ deviceId: 43, watermarkSeq: 0 }));
  assert.equal((await errorOf(client)).code, "SERVER_UNKNOWN_DEVICE");
  assert.equal(listed(43), undefined);
});

test("a session announces at most maxDevicesPerSession ids, over all its HELLOs", async () => {
  const big = await RawClient.connect(server.socketPath);
  big.send(helloBytes({ devices: [device(50), device(51), device(52)] }));
  const error = await errorOf(big);
  assert.equal(error.code, "SERVER_TOO_MANY_DEVICES");
  assert.match(error.message, /at most 2 device ids/);
  assert.equal(listed(52), undefined, "a refused HELLO describes nothing");

  const sessionId = newSessionId();
  const first = await RawClient.handshake(server.socketPath, {
    sessionId,
    devices: [device(53), device(54)],
  });
  const again = await RawClient.handshake(server.socketPath, {
    sessionId,
    devices: [device(54), device(53)],
  });
  const third = await RawClient.connect(server.socketPath);
  third.send(helloBytes({ sessionId, devices: [device(55)] }));
  assert.equal((await errorOf(third)).code, "SERVER_TOO_MANY_DEVICES");
  assert.ok(first.isOpen && again.isOpen, "the session's other connections are unaffected");
  assert.equal(listed(55), undefined);
  first.destroy();
  await leave(again, sessionId);
});

test("a departed session's description leaves with it; a waiting description takes over", async () => {
  const conflictsBefore = server.queries.summary().anomalies.byKind.DESCRIPTOR_CONFLICT ?? 0;
  const liarId = newSessionId();
  const liar = await RawClient.handshake(server.socketPath, {
    sessionId: liarId,
    devices: [device(60, "FAKE", 1)],
  });
  const honestId = newSessionId();
  const honest = await RawClient.handshake(server.socketPath, {
    sessionId: honestId,
    devices: [device(60, "n150", 12 * 2 ** 30)],
  });
  assert.equal(listed(60)?.name, "FAKE", "the first description is in force while its session lives");
  assert.equal(server.queries.summary().anomalies.byKind.DESCRIPTOR_CONFLICT, conflictsBefore + 1);
  await leave(liar, liarId);
  assert.equal(listed(60)?.name, "n150", "the liar's name left with it");
  assert.equal(listed(60)?.memory.DRAM.total, 12 * 2 ** 30);
  await leave(honest, honestId);
  assert.equal(listed(60), undefined, "no session describes device 60 any more");
});

test("a departed liar's device disappears, allocations route included", async () => {
  const liarId = newSessionId();
  const liar = await RawClient.handshake(server.socketPath, {
    sessionId: liarId,
    devices: [device(61, "FAKE", 1)],
  });
  liar.send(encodeEvents([alloc(61, 1)]));
  await waitFor(() => listed(61)?.allocations === 1, { what: "the liar's allocation" });
  await leave(liar, liarId);
  assert.equal(listed(61), undefined);
  assert.equal((await server.get("/api/v1/devices/61/allocations")).status, 404);
});

test("serve --max-devices-per-session and --reorder-budget-bytes set the limits; bad values are refused", async () => {
  const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");
  const { dir, path } = tempSocketPath();
  const run = (...flags: string[]) => {
    const child = spawn(
      process.execPath,
      [cli, "serve", "--socket", path, "--http", "127.0.0.1:0", "--quiet", "--no-history", ...flags],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    const exit = new Promise<number | null>((resolve) => child.once("exit", resolve));
    return { child, output: () => output, exit };
  };
  for (const flag of ["--max-devices-per-session", "--reorder-budget-bytes"]) {
    const refused = run(flag, "0");
    assert.equal(await refused.exit, 1);
    assert.match(refused.output(), new RegExp(`${flag}.*whole number >= 1`));
  }

  const serving = run("--max-devices-per-session", "1", "--reorder-budget-bytes", "4096");
  try {
    await waitFor(() => serving.output().includes("clients connect to"), {
      what: "serve to start",
      detail: serving.output,
    });
    const client = await RawClient.connect(path);
    client.send(helloBytes({ devices: [device(1), device(2)] }));
    assert.equal((await errorOf(client)).code, "SERVER_TOO_MANY_DEVICES");
    const fine = await RawClient.handshake(path, { devices: [device(1)] });
    fine.destroy();
    const url = /(http:\/\/127\.0\.0\.1:\d+)\/api\/v1\/summary/.exec(serving.output())![1];
    const summary = (await (await fetch(`${url}/api/v1/summary`)).json()) as SummaryResponse;
    assert.equal(summary.server.reorderBudgetBytes, 4096);
  } finally {
    serving.child.kill("SIGTERM");
    await serving.exit;
    rmSync(dir, { recursive: true, force: true });
  }
});
