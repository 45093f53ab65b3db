// docs/SECURITY.md: sessions are bounded per process and per server. A process that opens session after
// session (each left waiting out its reconnect grace) keeps at most maxSessionsPerProcess of them: the
// oldest idle one is released as superseded. When every session is connected, the HELLO is refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ErrorFrame, FrameType } from "../../src/protocol/frames.js";
import { waitFor } from "../support/wait-for.js";
import { helloBytes, newSessionId, RawClient } from "./raw-client.js";
import { startTestServer } from "./test-server.js";

test("a process opening sessions one after another keeps at most maxSessionsPerProcess; the oldest idle goes", async (t) => {
  const server = await startTestServer({ maxSessionsPerProcess: 3, graceMs: 60_000 });
  t.after(() => server.stop());
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) {
    const sessionId = newSessionId();
    ids.push(sessionId);
    const client = await RawClient.handshake(server.socketPath, { sessionId });
    client.destroy();
    await waitFor(() => server.sessions.get(sessionId)?.connectionCount === 0, { what: `session ${i} idle` });
  }
  assert.equal(server.sessions.size, 3);
  assert.deepEqual(
    ids.filter((id) => server.sessions.get(id) !== undefined),
    ids.slice(-3),
  );
});

test("when every session of the process is connected, one more is refused with SERVER_TOO_MANY_SESSIONS", async (t) => {
  const server = await startTestServer({ maxSessionsPerProcess: 2 });
  t.after(() => server.stop());
  const open = [await RawClient.handshake(server.socketPath), await RawClient.handshake(server.socketPath)];
  const third = await RawClient.connect(server.socketPath);
  third.send(helloBytes({}));
  const error = (await third.waitFor((f) => f.type === FrameType.ERROR)) as ErrorFrame;
  assert.equal(error.code, "SERVER_TOO_MANY_SESSIONS");
  assert.match(error.message, /maxSessionsPerProcess/);
  assert.equal(server.sessions.size, 2);
  // A sibling connection of a live session is not a new session: still welcome.
  for (const client of open) client.destroy();
});

test("the server-wide maxSessions gives up the oldest idle session of any process", async (t) => {
  const server = await startTestServer({ maxSessions: 2, graceMs: 60_000 });
  t.after(() => server.stop());
  const first = newSessionId();
  const a = await RawClient.handshake(server.socketPath, { sessionId: first });
  a.destroy();
  await waitFor(() => server.sessions.get(first)?.connectionCount === 0, { what: "the first session idle" });
  const b = await RawClient.handshake(server.socketPath);
  const c = await RawClient.handshake(server.socketPath);
  assert.equal(server.sessions.get(first), undefined, "the idle session made room");
  assert.equal(server.sessions.size, 2);
  b.destroy();
  c.destroy();
});
