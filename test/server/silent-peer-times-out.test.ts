// A peer that connects and says nothing gets ERROR(SERVER_HELLO_TIMEOUT) and is closed; one that
// completes the handshake is not subject to the timeout, however quiet it is afterwards.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ErrorFrame, FrameType } from "../../src/protocol/frames.js";
import { RawClient } from "./raw-client.js";
import { startTestServer } from "./test-server.js";

test("no HELLO within the timeout: ERROR and close; a handshaken idle client stays", async () => {
  const server = await startTestServer({ helloTimeoutMs: 150 });
  const idle = await RawClient.handshake(server.socketPath);
  const silent = await RawClient.connect(server.socketPath);
  const started = performance.now();
  const frame = (await silent.waitFor((f) => f.type === FrameType.ERROR)) as ErrorFrame;
  assert.equal(frame.code, "SERVER_HELLO_TIMEOUT");
  await silent.closed;
  assert.ok(performance.now() - started >= 100);
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(idle.isOpen);
  idle.destroy();
  await server.stop();
});
