// docs/DESIGN.md invariant 5: a process that dies has its memory released at once (within 1 s of SIGKILL), a
// live one that disconnects keeps it for the grace period, GOODBYE releases immediately, and pid reuse (same
// pid, other start time) does not fool the check.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { procLiveness } from "../../src/server/process-liveness.js";
import { newSessionId, RawClient } from "./raw-client.js";
import { startTestServer, type TestServer } from "./test-server.js";

const fixture = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "reporting-process.js");
let server: TestServer;

before(async () => {
  server = await startTestServer({ graceMs: 800, sweepIntervalMs: 5000 });
});
after(async () => {
  await server.stop();
});

function processOf(sessionId: string) {
  return server.queries.summary().processes.find((p) => p.sessionId === sessionId);
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<number> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - start;
}

async function spawnReporter(sessionId: string, count: number, mode = ""): Promise<ChildProcess> {
  const child = spawn(process.execPath, [fixture, server.socketPath, sessionId, String(count), mode], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise((resolve, reject) => {
    child.stdout!.once("data", resolve);
    child.once("exit", (code) => reject(new Error(`fixture exited with ${code}`)));
  });
  return child;
}

test("a SIGKILLed client's memory is gone from the API within 1 s", async () => {
  const sessionId = newSessionId();
  const child = await spawnReporter(sessionId, 50);
  await until(() => processOf(sessionId)?.devices[0]?.allocations === 50);
  const device = () => server.queries.summary().devices.find((d) => d.id === 0)!;
  assert.equal(device().memory.DRAM.used, 50 * 4096);

  const killedAt = performance.now();
  child.kill("SIGKILL");
  await until(() => processOf(sessionId) === undefined, 3000);
  const releasedAfterMs = performance.now() - killedAt;
  assert.ok(releasedAfterMs < 1000, `released after ${releasedAfterMs.toFixed(0)} ms`);
  assert.equal(device().memory.DRAM.used, 0);
  assert.equal(device().allocations, 0);
  if (child.exitCode === null && child.signalCode === null)
    await new Promise((resolve) => child.once("exit", resolve));
});

test("GOODBYE then close releases at once, even though the process lives on", async () => {
  const sessionId = newSessionId();
  const child = await spawnReporter(sessionId, 10, "goodbye");
  await until(() => processOf(sessionId) === undefined, 1000);
  assert.equal(child.signalCode, null, "the process is still alive");
  assert.equal(child.exitCode, null, "the process is still alive");
  child.kill("SIGKILL");
});

test("a live process that disconnects keeps its memory for the grace period, then loses it", async () => {
  const sessionId = newSessionId();
  const client = await RawClient.handshake(server.socketPath, { sessionId });
  // This test process is the client: alive throughout.
  client.destroy();
  await until(() => processOf(sessionId)?.state === "disconnected", 1000);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(processOf(sessionId)?.state, "disconnected", "still there within the grace");
  const waited = await until(() => processOf(sessionId) === undefined, 3000);
  assert.ok(waited > 200, `released after the grace (${waited.toFixed(0)} ms more)`);
});

test("reconnecting within the grace keeps the session", async () => {
  const sessionId = newSessionId();
  const first = await RawClient.handshake(server.socketPath, { sessionId });
  first.destroy();
  await until(() => processOf(sessionId)?.state === "disconnected", 1000);
  const second = await RawClient.handshake(server.socketPath, { sessionId });
  assert.equal(processOf(sessionId)?.state, "connected");
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(processOf(sessionId)?.state, "connected", "not reaped after the first connection's grace");
  second.destroy();
});

test("a reused pid (same pid, other start time) counts as dead", async () => {
  const sessionId = newSessionId();
  const client = await RawClient.handshake(server.socketPath, { sessionId, startTicks: 1 });
  assert.equal(procLiveness.isAlive(process.pid, 1), false);
  assert.equal(procLiveness.isAlive(process.pid, 0), true);
  client.destroy();
  await until(() => processOf(sessionId) === undefined, 500);
});
