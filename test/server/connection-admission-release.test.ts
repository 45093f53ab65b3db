// ConnectionAdmission with `releaseOn: "manual"` (ingest shards): the main thread's handle of a
// handed-over connection closes at once while the connection lives on in a worker, so it keeps counting
// against the caps until the caller releases it, once, however often release() is called.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import pino from "pino";
import { ConnectionAdmission } from "../../src/server/connection-admission.js";
import { noPeerCredentials } from "../../src/server/peer-credentials.js";
import { waitFor } from "../support/wait-for.js";

async function withSockets(body: (next: () => Promise<Socket>) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "allocwatch-admission-"));
  const path = join(dir, "s.sock");
  const accepted: Socket[] = [];
  const clients: Socket[] = [];
  const server: Server = createServer({ pauseOnConnect: true }, (socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  try {
    await body(async () => {
      const count = accepted.length;
      const client = connect(path);
      client.on("error", () => {});
      clients.push(client);
      return waitFor(() => accepted[count], { what: "the server to accept" });
    });
  } finally {
    for (const socket of [...accepted, ...clients]) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
}

const limits = { maxConnections: 1, maxConnectionsPerUid: 1, closeTimeoutMs: 1000 };

test("manual release: a closed socket still counts until release(); release is idempotent", async () => {
  await withSockets(async (next) => {
    const admission = new ConnectionAdmission(limits, noPeerCredentials("test"), pino({ level: "silent" }));
    const first = await next();
    const admitted = admission.admit(first, { releaseOn: "manual" });
    assert.ok(admitted);
    first.destroy();
    await new Promise((resolve) => first.once("close", resolve));
    assert.equal(admission.openConnections, 1, "the handle closed, the connection still counts");
    assert.equal(admission.admit(await next()), undefined, "the cap still holds");
    assert.equal(admission.refused, 1);
    admitted.release();
    admitted.release();
    assert.equal(admission.openConnections, 0, "released once");
    const third = admission.admit(await next());
    assert.ok(third, "a place is free again");
    assert.equal(admission.openConnections, 1);
  });
});

test("default release: the socket's close releases; a release() before it is not counted twice", async () => {
  await withSockets(async (next) => {
    const admission = new ConnectionAdmission(limits, noPeerCredentials("test"), pino({ level: "silent" }));
    const socket = await next();
    const admitted = admission.admit(socket);
    assert.ok(admitted);
    admitted.release();
    assert.equal(admission.openConnections, 0);
    socket.destroy();
    await new Promise((resolve) => socket.once("close", resolve));
    assert.equal(admission.openConnections, 0, "not below zero");
    const other = await next();
    assert.ok(admission.admit(other));
    other.destroy();
    await waitFor(() => admission.openConnections === 0, { what: "the close to release" });
  });
});
