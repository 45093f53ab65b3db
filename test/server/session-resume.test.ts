// Resume secrets with the real client and server (docs/PROTOCOL.md §3.1): clients of one process that share
// a session pass its id and secret both and join it; a client with the id alone is refused and changes
// nothing; a client whose connection drops joins its own session again within the grace period.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { AllocationClient } from "../../src/client/allocation-client.js";
import type { ClientError } from "../../src/client/errors.js";
import { waitFor } from "../support/wait-for.js";
import { TEST_DEVICE } from "./raw-client.js";
import { startTestServer, type TestServer } from "./test-server.js";

let server: TestServer;
const clients: AllocationClient[] = [];

before(async () => {
  server = await startTestServer({ graceMs: 60_000 });
});
after(async () => {
  await Promise.all(clients.map((c) => c.close({ timeoutMs: 1000 })));
  await server.stop();
});

function client(options: Partial<ConstructorParameters<typeof AllocationClient>[0]> = {}): AllocationClient {
  const c = new AllocationClient({
    socketPath: server.socketPath,
    devices: [TEST_DEVICE],
    reconnectInitialMs: 10,
    reconnectMaxMs: 50,
    ...options,
  });
  clients.push(c);
  return c;
}

test("each client chooses its own random resume secret", () => {
  const a = client();
  const b = client();
  assert.match(a.resumeSecret, /^[0-9a-f]{32}$/);
  assert.notEqual(a.resumeSecret, b.resumeSecret);
  const given = client({ sessionId: "12".repeat(16), resumeSecret: "34".repeat(16) });
  assert.equal(given.resumeSecret, "34".repeat(16));
});

test("a sibling client with the session id and secret joins; one with the id alone is refused", async () => {
  const first = client();
  // The client connects from its writer thread, which takes a moment to start: wait for its session.
  await waitFor(() => first.state === "ready", { what: "the first client to be welcomed" });
  const sibling = client({ sessionId: first.sessionId, resumeSecret: first.resumeSecret });
  await waitFor(() => sibling.state === "ready", { what: "the sibling to be welcomed" });
  const session = server.sessions.get(first.sessionId)!;
  assert.equal(session.connectionCount, 2, "one session over two connections");

  const errors: ClientError[] = [];
  const stranger = client({ sessionId: first.sessionId, onError: (e) => errors.push(e) });
  await waitFor(() => errors.some((e) => e.message.includes("SERVER_RESUME_REFUSED")), {
    what: "the client without the secret to be refused",
    detail: () => errors.map((e) => e.message).join("; "),
  });
  assert.match(errors[0]!.message, /pass both sessionId and resumeSecret/);
  assert.notEqual(stranger.state, "ready");
  assert.equal(session.connectionCount, 2, "the session did not gain the stranger");
  await stranger.close({ timeoutMs: 100 });
});

test("a client whose connection dropped joins its session again with its secret", async () => {
  const c = client();
  c.record(1, 0, 0, 1, 1, 4096, 4096, 1);
  await c.flush();
  const session = server.sessions.get(c.sessionId)!;
  await waitFor(() => session.account.liveAllocations === 1, { what: "the first allocation" });
  for (const peer of session.connections().slice()) peer.close("TEST_DROP", "dropped by the test");
  await waitFor(() => c.counters.reconnects === 1 && c.state === "ready" && session.connectionCount === 1, {
    what: "the client to reconnect into the same session",
  });
  assert.equal(server.sessions.get(c.sessionId), session, "the same session, not a new one");
  c.record(1, 0, 0, 2, 2, 8192, 4096, 2);
  await c.flush();
  await waitFor(() => session.account.liveAllocations === 2, {
    what: "the next allocation after the resume",
  });
});
