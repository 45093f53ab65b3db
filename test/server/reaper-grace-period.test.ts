// docs/DESIGN.md invariant 5 with an injected clock and liveness (no sleeps): a live process that disconnects keeps
// its memory for exactly the grace period; reconnecting within it keeps the session; GOODBYE releases at
// once; a process found dead by a re-check or by the sweep is released then; a reused pid counts as dead.
// The real clock and a real SIGKILL are covered once, in test/e2e/client-killed.test.ts.
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import { encodeEvents, encodeGoodbye } from "../../src/protocol/encode-frame.js";
import { type ProcessLiveness, procLiveness } from "../../src/server/process-liveness.js";
import { DEFAULT_REAPER_OPTIONS } from "../../src/server/reaper.js";
import type { ReleaseReason } from "../../src/server/session-table.js";
import { ManualTimers } from "../../src/server/timers.js";
import { waitFor } from "../support/wait-for.js";
import { newSessionId, RawClient, testEvent } from "./raw-client.js";
import { startTestServer, type TestServer, WITHOUT_PEER_CREDENTIALS } from "./test-server.js";

const GRACE_MS = 800;
const SWEEP_MS = 5000;

/** Pids the test declares alive or dead; any other pid (this process's) is asked of /proc. */
class ScriptedLiveness implements ProcessLiveness {
  private readonly dead = new Set<number>();
  kill(pid: number): void {
    this.dead.add(pid);
  }
  isAlive(pid: number, startTicks: number): boolean {
    if (pid >= FAKE_PID_BASE) return !this.dead.has(pid);
    return procLiveness.isAlive(pid, startTicks);
  }
}
// Above any pid_max: never a real process, so only the script decides.
const FAKE_PID_BASE = 0x3fff0000;
let nextFakePid = FAKE_PID_BASE;

const clock = new ManualTimers();
const liveness = new ScriptedLiveness();
const released = new Map<string, ReleaseReason>();
let server: TestServer;

before(async () => {
  // Scripted pids are not this process's: without the kernel's word, the server takes the HELLO's claims.
  server = await startTestServer({
    graceMs: GRACE_MS,
    sweepIntervalMs: SWEEP_MS,
    timers: clock,
    liveness,
    peerCredentials: WITHOUT_PEER_CREDENTIALS,
  });
  server.sessions.listen({ released: (s, reason) => released.set(s.sessionId, reason) });
});
after(async () => {
  await server.stop();
});
beforeEach(() => {
  // Start each test on a fresh sweep period: the sweep fires only when a test advances past it.
  clock.advance(SWEEP_MS - (clock.nowMs() % SWEEP_MS) + 1);
});

function processOf(sessionId: string) {
  return server.queries.summary().processes.find((p) => p.sessionId === sessionId);
}

const alloc = (seq: number) => testEvent(seq);

/** A session of a fake (scripted) pid holding `count` allocations. */
async function openSession(count = 3): Promise<{ sessionId: string; pid: number; client: RawClient }> {
  const sessionId = newSessionId();
  const pid = nextFakePid++;
  const client = await RawClient.handshake(server.socketPath, { sessionId, pid });
  client.send(encodeEvents(Array.from({ length: count }, (_, i) => alloc(i + 1))));
  await waitFor(() => processOf(sessionId)?.devices[0]?.allocations === count, {
    what: `${count} allocations of session ${sessionId}`,
  });
  return { sessionId, pid, client };
}

async function disconnect(client: RawClient, sessionId: string): Promise<void> {
  client.destroy();
  await waitFor(() => processOf(sessionId)?.state === "disconnected", {
    what: `session ${sessionId} to be seen as disconnected`,
  });
}

test("GOODBYE then close releases at once, even though the process lives on", async () => {
  const { sessionId, pid, client } = await openSession();
  client.send(encodeGoodbye());
  client.end();
  // No clock advance: only the GOODBYE path can release it.
  await waitFor(() => released.has(sessionId), { what: `session ${sessionId} to be released` });
  assert.equal(released.get(sessionId), "goodbye");
  assert.equal(processOf(sessionId), undefined);
  assert.equal(liveness.isAlive(pid, 0), true, "the process is still alive");
});

test("a live process that disconnects keeps its memory for the grace period, then loses it", async () => {
  const { sessionId, client } = await openSession();
  await disconnect(client, sessionId);
  clock.advance(GRACE_MS - 1);
  assert.equal(processOf(sessionId)?.state, "disconnected", "still there within the grace");
  assert.equal(processOf(sessionId)?.devices[0]?.allocations, 3, "its memory too");
  clock.advance(1);
  assert.equal(processOf(sessionId), undefined, "released once the grace is over");
  assert.equal(released.get(sessionId), "grace-expired");
});

test("reconnecting within the grace keeps the session", async () => {
  const { sessionId, pid, client } = await openSession();
  await disconnect(client, sessionId);
  clock.advance(GRACE_MS / 2);
  const second = await RawClient.handshake(server.socketPath, { sessionId, pid });
  assert.equal(processOf(sessionId)?.state, "connected");
  clock.advance(GRACE_MS * 2);
  assert.equal(processOf(sessionId)?.state, "connected", "not reaped after the first connection's grace");
  assert.equal(processOf(sessionId)?.devices[0]?.allocations, 3);
  second.destroy();
});

test("a process that dies during the grace is released at the next re-check, not at its end", async () => {
  const { sessionId, pid, client } = await openSession();
  // A SIGKILLed process closes its sockets before /proc shows it gone: alive at the close, dead soon after.
  await disconnect(client, sessionId);
  liveness.kill(pid);
  clock.advance(DEFAULT_REAPER_OPTIONS.firstRecheckMs);
  assert.equal(processOf(sessionId), undefined);
  assert.equal(released.get(sessionId), "process-exited");
});

test("the sweep releases a connected session whose process is gone (e.g. a child kept the socket)", async () => {
  const { sessionId, pid, client } = await openSession();
  liveness.kill(pid);
  clock.advance(SWEEP_MS - 2);
  assert.equal(processOf(sessionId)?.state, "connected", "not before the sweep");
  clock.advance(2);
  assert.equal(processOf(sessionId), undefined);
  assert.equal(released.get(sessionId), "process-exited");
  await client.closed;
});

test("a reused pid (same pid, other start time) counts as dead", async () => {
  const sessionId = newSessionId();
  const client = await RawClient.handshake(server.socketPath, { sessionId, startTicks: 1 });
  assert.equal(procLiveness.isAlive(process.pid, 1), false);
  assert.equal(procLiveness.isAlive(process.pid, 0), true);
  client.destroy();
  // No clock advance: the liveness check at the close releases it.
  await waitFor(() => processOf(sessionId) === undefined, { what: `session ${sessionId} to be released` });
  assert.equal(released.get(sessionId), "process-exited");
});
