// A peer that connects and says nothing gets ERROR(SERVER_HELLO_TIMEOUT) and is closed; one that
// completes the handshake is not subject to the timeout, however quiet it is afterwards. The timeout is a
// deadline counted from accept (issue 9, finding 4): bytes trickling in do not extend it. The server's
// clock is injected: the test moves time, it never sleeps.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ErrorFrame, FrameType } from "../../src/protocol/frames.js";
import { ManualTimers } from "../../src/server/timers.js";
import { waitFor } from "../support/wait-for.js";
import { helloBytes, RawClient } from "./raw-client.js";
import { startTestServer } from "./test-server.js";

test("no HELLO within the timeout: ERROR and close; a handshaken idle client stays", async () => {
  const clock = new ManualTimers();
  const server = await startTestServer({ helloTimeoutMs: 150, timers: clock });
  const idle = await RawClient.handshake(server.socketPath);
  const silent = await RawClient.connect(server.socketPath);
  await waitFor(() => server.queries.summary().server.connections === 2, {
    what: "the server to accept the silent connection",
  });
  clock.advance(149);
  assert.equal(silent.frames.length, 0, "no ERROR before the timeout");
  clock.advance(1);
  const frame = (await silent.waitFor((f) => f.type === FrameType.ERROR)) as ErrorFrame;
  assert.equal(frame.code, "SERVER_HELLO_TIMEOUT");
  await silent.closed;
  clock.advance(10_000);
  // A handshake round trip after the clock moved: anything the server had sent the idle client by then
  // has arrived.
  const later = await RawClient.handshake(server.socketPath);
  assert.deepEqual(
    idle.frames.map((f) => f.type),
    [FrameType.WELCOME],
  );
  assert.ok(idle.isOpen);
  later.destroy();
  idle.destroy();
  await server.stop();
});

test("HELLO has an absolute deadline from accept: a byte every second does not extend it", async (t) => {
  const clock = new ManualTimers();
  const server = await startTestServer({ helloTimeoutMs: 5000, timers: clock });
  t.after(() => server.stop());
  const slow = await RawClient.connect(server.socketPath);
  await waitFor(() => server.queries.summary().server.connections === 1, {
    what: "the server to accept the slow connection",
  });
  const hello = helloBytes();
  for (let i = 0; i < 4; i++) {
    clock.advance(1000);
    slow.send(hello.subarray(i, i + 1));
    // A handshake round trip on another connection: the server has read the byte before the clock moves.
    (await RawClient.handshake(server.socketPath)).destroy();
  }
  clock.advance(999);
  assert.equal(slow.frames.length, 0, "4999 ms after accept: no ERROR yet");
  clock.advance(1);
  const frame = (await slow.waitFor((f) => f.type === FrameType.ERROR)) as ErrorFrame;
  assert.equal(frame.code, "SERVER_HELLO_TIMEOUT");
  assert.match(frame.message, /no HELLO within 5000 ms of connecting/);
  await slow.closed;
});
