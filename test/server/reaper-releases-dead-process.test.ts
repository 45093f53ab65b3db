// docs/DESIGN.md invariant 5, the real path end to end: a child process killed with SIGKILL has its memory released
// within 1 s, with the real clock and the real /proc liveness check. This is the suite's one reaping
// test with a real SIGKILL; the grace period, GOODBYE, re-checks, the sweep and pid reuse are tested
// with an injected clock and liveness in reaper-grace-period.test.ts.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { waitFor } from "../support/wait-for.js";
import { newSessionId } from "./raw-client.js";
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

async function spawnReporter(sessionId: string, count: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [fixture, server.socketPath, sessionId, String(count)], {
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
  await waitFor(() => processOf(sessionId)?.devices[0]?.allocations === 50, {
    what: "the reporter's 50 allocations",
  });
  const device = () => server.queries.summary().devices.find((d) => d.id === 0)!;
  assert.equal(device().memory.DRAM.used, 50 * 4096);

  const killedAt = performance.now();
  child.kill("SIGKILL");
  // The deadline is looser than the assertion, so that a slow release fails with its measured time.
  await waitFor(() => processOf(sessionId) === undefined, {
    what: "the killed reporter's session to be released",
    timeoutMs: 3000,
  });
  const releasedAfterMs = performance.now() - killedAt;
  assert.ok(releasedAfterMs < 1000, `released after ${releasedAfterMs.toFixed(0)} ms`);
  assert.equal(device().memory.DRAM.used, 0);
  assert.equal(device().allocations, 0);
  if (child.exitCode === null && child.signalCode === null)
    await new Promise((resolve) => child.once("exit", resolve));
});
