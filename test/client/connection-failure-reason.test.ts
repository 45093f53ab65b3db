// A client that cannot reach the server says why, as a stable `reason` (and in words): no socket at
// the path, a socket file nobody listens on, a socket closed to this user, a server that hangs up.
// Real sockets for each cause this process can provoke.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { AllocationClient } from "../../src/client/allocation-client.js";
import {
  type ClientError,
  ConnectionFailedError,
  ConnectionFailureReason,
  connectionFailureReason,
} from "../../src/client/errors.js";
import { waitFor } from "../support/wait-for.js";
import { unusedSocketPath } from "./fixture-server.js";

const DEVICE = { deviceId: 0, name: "d0", architecture: "TINY", capacityBytes: [0, 0, 0, 0, 0, 0, 0] };

/** The first error a client reports when connecting to `socketPath`. */
async function firstFailure(socketPath: string): Promise<ConnectionFailedError> {
  const errors: ClientError[] = [];
  const client = new AllocationClient({
    socketPath,
    devices: [DEVICE],
    reconnectInitialMs: 60_000,
    reconnectMaxMs: 60_000,
    onError: (error) => errors.push(error),
  });
  try {
    await waitFor(() => errors.length > 0, { what: "a connection failure" });
  } finally {
    await client.close();
  }
  const [error] = errors;
  assert.ok(error instanceof ConnectionFailedError, String(error));
  return error;
}

test("no socket at the path (or a missing folder on it): NO_SOCKET, and the message says to start a server", async () => {
  const { path, cleanup } = unusedSocketPath();
  try {
    for (const socketPath of [path, join(path, "in-a-folder-that-is-not-there.sock")]) {
      const error = await firstFailure(socketPath);
      assert.equal(error.reason, ConnectionFailureReason.NO_SOCKET);
      assert.equal(error.socketPath, socketPath);
      assert.match(error.message, /no socket there .*allocwatch serve/);
    }
  } finally {
    cleanup();
  }
});

test("a socket file without a server (one that was SIGKILLed): REFUSED", async () => {
  const { path, cleanup } = unusedSocketPath();
  try {
    // A server killed before it could remove its socket leaves the file behind.
    const dead = spawn(process.execPath, [
      "-e",
      `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`,
    ]);
    await new Promise((resolve) => dead.once("exit", resolve));
    assert.ok(existsSync(path), "the stale socket file is there");
    const error = await firstFailure(path);
    assert.equal(error.reason, ConnectionFailureReason.REFUSED);
    assert.match(error.message, /connection refused \(a socket file without a server/);
  } finally {
    cleanup();
  }
});

test("a socket closed to this user: PERMISSION_DENIED", async (t) => {
  const { path, cleanup } = unusedSocketPath();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  try {
    if (process.getuid?.() === 0) {
      // root connects whatever the mode: check the mapping of the kernel's answer instead.
      t.diagnostic("running as root: EACCES checked through connectionFailureReason");
      const eacces = Object.assign(new Error(`connect EACCES ${path}`), { code: "EACCES" });
      const error = new ConnectionFailedError(path, eacces);
      assert.equal(error.reason, ConnectionFailureReason.PERMISSION_DENIED);
      assert.match(error.message, /permission denied \(the socket belongs to another user/);
      return;
    }
    chmodSync(path, 0o000);
    const error = await firstFailure(path);
    assert.equal(error.reason, ConnectionFailureReason.PERMISSION_DENIED);
    assert.match(error.message, /permission denied/);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    cleanup();
  }
});

test("a server that hangs up before WELCOME: CLOSED", async () => {
  const { path, cleanup } = unusedSocketPath();
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(path, resolve));
  try {
    const error = await firstFailure(path);
    assert.equal(error.reason, ConnectionFailureReason.CLOSED);
    assert.match(error.message, /the connection closed/);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    cleanup();
  }
});

test("errno codes map to reasons; anything else is OTHER", () => {
  const errno = (code: string) => Object.assign(new Error(code), { code });
  assert.deepEqual(
    ["EACCES", "EPERM", "ENOENT", "ENOTDIR", "ECONNREFUSED", "EPIPE", "ECONNRESET", "EMFILE"].map((code) =>
      connectionFailureReason(errno(code)),
    ),
    [
      "PERMISSION_DENIED",
      "PERMISSION_DENIED",
      "NO_SOCKET",
      "NO_SOCKET",
      "REFUSED",
      "CLOSED",
      "CLOSED",
      "OTHER",
    ],
  );
  assert.equal(connectionFailureReason(new Error("no code")), "OTHER");
  assert.equal(connectionFailureReason("a string"), "OTHER");
  assert.match(new ConnectionFailedError("/x.sock", errno("EMFILE")).message, /: EMFILE$/);
});
