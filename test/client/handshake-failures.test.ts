import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { ClientErrorCode, type ServerErrorFrameError } from "../../src/client/errors.js";
import { encodeError } from "../../src/protocol/codec.js";
import { waitFor } from "../support/wait-for.js";
import { FixtureServer, unusedSocketPath } from "./fixture-server.js";

const DEVICE = { deviceId: 0, name: "d0", architecture: "TINY", capacityBytes: [0, 0, 0, 0, 0, 0, 0] };

test("a server that never answers HELLO: handshake timeout is reported and the client backs off", async () => {
  const server = await FixtureServer.start({ welcome: false });
  const errors: string[] = [];
  const client = new AllocationClient({
    socketPath: server.path,
    devices: [DEVICE],
    handshakeTimeoutMs: 50,
    // Far longer than any wait below, so the client is still backing off (not retrying) when checked.
    reconnectInitialMs: 60_000,
    reconnectMaxMs: 60_000,
    onError: (error) => errors.push(error.code),
  });
  try {
    for (let seq = 1; seq <= 10; seq++) client.record(1, 0, 0, seq, seq, seq, 64, 0);
    await waitFor(() => client.state === "backoff", { what: "the client to back off" });
    assert.equal(client.state, "backoff");
    assert.deepEqual(errors, [ClientErrorCode.HANDSHAKE_TIMEOUT]);
    assert.equal(client.counters.dropped, 10, "events queued during the handshake are dropped and counted");
  } finally {
    await client.close();
    await server.close();
  }
});

test("an ERROR frame from the server is reported with the server's code, then the client reconnects", async () => {
  const { path, cleanup } = unusedSocketPath();
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.on("error", () => {});
    socket.once("data", () => socket.end(encodeError({ code: "SERVER_REJECTED", message: "go away" })));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const errors: ServerErrorFrameError[] = [];
  const client = new AllocationClient({
    socketPath: path,
    devices: [DEVICE],
    reconnectInitialMs: 5,
    onError: (error) => {
      if (error.code === ClientErrorCode.SERVER_ERROR) errors.push(error as ServerErrorFrameError);
    },
  });
  try {
    await waitFor(() => connections >= 2, { what: "a second connection" });
    assert.ok(connections >= 2, "it tried again");
    assert.ok(errors.length >= 1);
    assert.equal(errors[0].serverCode, "SERVER_REJECTED");
    assert.match(errors[0].message, /go away/);
  } finally {
    await client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    cleanup();
  }
});

test("garbage from the server is a protocol violation, reported, never thrown", async () => {
  const { path, cleanup } = unusedSocketPath();
  const server = createServer((socket) => {
    socket.on("error", () => {});
    socket.resume(); // read (and ignore) HELLO, so that the client's close is seen
    socket.write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const errors: string[] = [];
  const client = new AllocationClient({
    socketPath: path,
    devices: [DEVICE],
    // Far longer than the wait below: one connection, so exactly one error.
    reconnectInitialMs: 60_000,
    reconnectMaxMs: 60_000,
    onError: (error) => errors.push(error.code),
  });
  try {
    await waitFor(() => errors.length > 0, { what: "the protocol violation to be reported" });
    assert.deepEqual(errors, [ClientErrorCode.PROTOCOL_VIOLATION]);
  } finally {
    await client.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    cleanup();
  }
});
