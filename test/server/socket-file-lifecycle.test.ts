// The listening socket: created mode 0600, a stale file replaced, a live server detected, a path that is
// not a socket left alone, and the file removed on close.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { lstatSync, rmSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import pino from "pino";
import { defaultSocketPath } from "../../src/server/listener.js";
import { startServer } from "../../src/server/server.js";
import { RawClient } from "./raw-client.js";
import { tempSocketPath } from "./test-server.js";

const quiet = { http: false as const, logger: pino({ level: "silent" }) };

test("the socket is created mode 0600 and removed on close", async () => {
  const { dir, path } = tempSocketPath();
  const server = await startServer({ socketPath: path, ...quiet });
  const stat = lstatSync(path);
  assert.ok(stat.isSocket());
  assert.equal(stat.mode & 0o777, 0o600);
  await server.close();
  assert.throws(() => lstatSync(path), { code: "ENOENT" });
  rmSync(dir, { recursive: true });
});

test("a stale socket file (nobody listening) is replaced", async () => {
  const { dir, path } = tempSocketPath();
  // Leave a socket file behind the way a crashed server does: a process that listens, then is SIGKILLed.
  const crashed = spawn(
    process.execPath,
    ["-e", "require('node:net').createServer().listen(process.argv[1], () => console.log('up'))", path],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise((resolve) => crashed.stdout!.once("data", resolve));
  crashed.kill("SIGKILL");
  await new Promise((resolve) => crashed.once("exit", resolve));
  assert.ok(lstatSync(path).isSocket());
  const server = await startServer({ socketPath: path, ...quiet });
  const client = await RawClient.handshake(path);
  assert.ok(client.isOpen);
  client.destroy();
  await server.close();
  rmSync(dir, { recursive: true });
});

test("a second server on the same path fails with a clear message; the first keeps serving", async () => {
  const { dir, path } = tempSocketPath();
  const first = await startServer({ socketPath: path, ...quiet });
  await assert.rejects(startServer({ socketPath: path, ...quiet }), (error: Error & { code?: string }) => {
    assert.equal(error.code, "SERVER_ALREADY_RUNNING");
    assert.match(error.message, /already listening on .*s\.sock/);
    return true;
  });
  const client = await RawClient.handshake(path);
  client.destroy();
  await first.close();
  rmSync(dir, { recursive: true });
});

test("a path that is not a socket is never deleted", async () => {
  const { dir, path } = tempSocketPath();
  writeFileSync(path, "precious");
  await assert.rejects(startServer({ socketPath: path, ...quiet }), { code: "SERVER_SOCKET_PATH_OCCUPIED" });
  assert.ok(lstatSync(path).isFile());
  rmSync(dir, { recursive: true });
});

test("the default path: $ALLOCWATCH_SOCKET, else $XDG_RUNTIME_DIR, else /tmp per uid", () => {
  assert.equal(
    defaultSocketPath({ ALLOCWATCH_SOCKET: "/x/y.sock", XDG_RUNTIME_DIR: "/run/user/5" }, 5),
    "/x/y.sock",
  );
  assert.equal(
    defaultSocketPath({ ALLOCWATCH_SOCKET: "", XDG_RUNTIME_DIR: "/run/user/5" }, 5),
    "/run/user/5/allocwatch.sock",
  );
  assert.equal(defaultSocketPath({}, 1234), "/tmp/allocwatch-1234.sock");
});
