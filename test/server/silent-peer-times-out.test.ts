// A peer that connects and says nothing gets ERROR(SERVER_HELLO_TIMEOUT) and is closed; one that
// completes the handshake is not subject to the timeout, however quiet it is afterwards. The server's
// clock is injected: the test moves time, it never sleeps.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ErrorFrame, FrameType } from "../../src/protocol/frames.js";
import { ManualTimers } from "../../src/server/timers.js";
import { waitFor } from "../support/wait-for.js";
import { RawClient } from "./raw-client.js";
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

/** Counts scheduled timers, so that a test can tell when the server has reacted to a chunk. */
class CountingTimers extends ManualTimers {
  scheduled = 0;
  override set(callback: () => void, delayMs: number): unknown {
    this.scheduled++;
    return super.set(callback, delayMs);
  }
}

test("bytes before HELLO restart the timeout (an idle timeout, as the socket timeout was)", async () => {
  const clock = new CountingTimers();
  const server = await startTestServer({ helloTimeoutMs: 150, timers: clock });
  const scheduledBefore = clock.scheduled;
  const slow = await RawClient.connect(server.socketPath);
  await waitFor(() => clock.scheduled === scheduledBefore + 1, { what: "the connection's HELLO timer" });
  clock.advance(100);
  slow.send(Uint8Array.of(0)); // the first byte of a frame header
  await waitFor(() => clock.scheduled === scheduledBefore + 2, { what: "the HELLO timer to restart" });
  clock.advance(100);
  assert.equal(slow.frames.length, 0, "200 ms since connecting, 100 ms since the last byte: still waiting");
  clock.advance(50);
  const frame = (await slow.waitFor((f) => f.type === FrameType.ERROR)) as ErrorFrame;
  assert.equal(frame.code, "SERVER_HELLO_TIMEOUT");
  await slow.closed;
  await server.stop();
});
