// Issue 10, finding 3, in-process: what a legacy monitor makes the server hold is bounded. Past the
// pause threshold of unsent replies its socket is not read (and nothing is lost: once it reads, every
// QUERY is answered); past the close budget it is closed; past the connection cap a new connection is
// closed at once and counted.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { test } from "node:test";
import { waitFor } from "../support/wait-for.js";
import { startLegacyServer } from "./legacy-server.js";
import { request, TYPE } from "./wire.js";

const QUERY = request(144, { type: TYPE.QUERY, deviceId: 0, size: 0, bufferType: 0, pid: 0, bufferId: 0 });

function queries(count: number): Buffer {
  const out = Buffer.alloc(count * 144);
  for (let i = 0; i < count; i++) out.set(QUERY, i * 144);
  return out;
}

/** A socket that writes `bytes` and reads nothing until told to. */
async function deafMonitor(path: string, bytes: Buffer) {
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.pause();
  socket.on("error", () => {});
  socket.write(bytes);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return { socket, closed };
}

test("a monitor that does not read is paused at the threshold; once it reads, every QUERY is answered", async (t) => {
  const replyPauseBytes = 64 * 1024;
  const server = await startLegacyServer({ frame: 144 });
  t.after(() => server.stop());
  const count = 20_000; // 2.9 MB of replies: far past the kernel's socket buffers and the threshold
  const { socket } = await deafMonitor(server.legacyPath, queries(count));
  const connection = await waitFor(() => server.legacy!.openConnections().find((c) => c.isPaused), {
    what: "the deaf monitor's connection to be paused",
  });
  // One chunk (64 KiB of requests, as many bytes of replies) may land after the threshold is passed.
  assert.ok(
    connection.peakUnsentBytes <= replyPauseBytes + 64 * 1024,
    `${connection.peakUnsentBytes} unsent reply bytes held at most`,
  );
  assert.equal(server.legacy!.stats.budgetClosures, 0);

  let received = 0;
  let responses = 0;
  let partial = 0;
  socket.on("data", (chunk: Buffer) => {
    for (let i = 0; i < chunk.length; i++) {
      if ((partial + i) % 144 === 0 && chunk[i] === TYPE.RESPONSE) responses++;
    }
    partial = (partial + chunk.length) % 144;
    received += chunk.length;
  });
  socket.resume();
  await waitFor(() => received >= count * 144, {
    what: "every reply",
    detail: () => `${received} of ${count * 144} bytes`,
  });
  assert.equal(received, count * 144);
  assert.equal(responses, count, "one RESPONSE per QUERY, none lost while paused");
  assert.ok(connection.peakUnsentBytes <= replyPauseBytes + 64 * 1024);
  socket.destroy();
});

test("unsent replies past the close budget: that connection is closed and counted, no other", async (t) => {
  const server = await startLegacyServer({ frame: 144, replyPauseBytes: 60_000, maxReplyBytes: 60_001 });
  t.after(() => server.stop());
  const bystander = await server.connectLegacy();
  const { closed } = await deafMonitor(server.legacyPath, queries(20_000));
  await closed;
  assert.equal(server.legacy!.stats.budgetClosures, 1);
  await bystander.write(QUERY);
  assert.equal((await bystander.read(144))[0], TYPE.RESPONSE, "another connection is not disturbed");
  bystander.close();
});

test("past the connection cap a new legacy connection is closed at once and counted", async (t) => {
  const server = await startLegacyServer({ frame: 144, maxConnections: 3 });
  t.after(() => server.stop());
  const open = [await server.connectLegacy(), await server.connectLegacy(), await server.connectLegacy()];
  await waitFor(() => server.legacy!.connectionCount === 3, { what: "three legacy connections" });
  const refused = await server.connectLegacy();
  await refused.closed;
  assert.equal(server.legacy!.stats.refusedConnections, 1);
  assert.equal(server.legacy!.connectionCount, 3);

  open[0]!.close();
  await waitFor(() => server.legacy!.connectionCount === 2, { what: "a place to be freed" });
  const admitted = await server.connectLegacy();
  await admitted.write(QUERY);
  assert.equal((await admitted.read(144))[0], TYPE.RESPONSE);
  for (const c of [...open.slice(1), admitted]) c.close();
});
