// A server removes only the socket file it created: A listens on S, S is removed, B listens on S, A is
// stopped with SIGTERM, and S must still be B's, reachable (issue 9, finding 6). libuv unlinks the name a
// pipe server bound when it closes, whatever that name points at by then; the same holds for the
// legacy tt-metal socket, which goes through the same listener.
import assert from "node:assert/strict";
import { lstatSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { freePort, processScope, type ServerProc, startServerProcess } from "./harness.js";

const { dir, procs } = processScope();

/** Resolves once a connection to `path` is accepted; rejects with the connect error (ENOENT, refused). */
function reachable(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once("connect", () => {
      socket.destroy();
      resolve();
    });
    socket.once("error", reject);
  });
}

async function serve(socket: string, extra: string[] = []): Promise<ServerProc> {
  const server = await startServerProcess(socket, await freePort(), extra);
  procs.push(server);
  return server;
}

async function stop(server: ServerProc): Promise<void> {
  server.kill("SIGTERM");
  assert.equal((await server.exited).code, 0, server.stderr.join("\n"));
}

test("SIGTERM to a server whose socket path was taken over leaves the new server's socket", {
  timeout: 30_000,
}, async () => {
  const path = join(dir, "native.sock");
  const a = await serve(path);
  rmSync(path);
  const b = await serve(path);
  const bInode = lstatSync(path).ino;
  await stop(a);
  assert.equal(lstatSync(path).ino, bInode, "the socket file is still B's");
  await reachable(path);
  await stop(b);
  assert.throws(() => lstatSync(path), { code: "ENOENT" }, "B removes its own socket on SIGTERM");
});

test("the same for the legacy tt-metal socket", { timeout: 30_000 }, async () => {
  const legacy = join(dir, "tt.sock");
  const aNative = join(dir, "a.sock");
  const a = await serve(aNative, ["--legacy-socket", legacy]);
  rmSync(legacy);
  const b = await serve(join(dir, "b.sock"), ["--legacy-socket", legacy]);
  const bInode = lstatSync(legacy).ino;
  await stop(a);
  assert.throws(() => lstatSync(aNative), { code: "ENOENT" }, "A still removes its own native socket");
  assert.equal(lstatSync(legacy).ino, bInode, "the legacy socket file is still B's");
  await reachable(legacy);
  await stop(b);
  assert.throws(() => lstatSync(legacy), { code: "ENOENT" }, "B removes its own legacy socket on SIGTERM");
});
