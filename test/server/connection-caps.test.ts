// Issue 9, finding 4 (connection caps): open client connections are capped in all and per uid (the
// kernel's uid; one bucket for all where peer credentials are unavailable). A connection over a cap gets
// one ERROR frame before it sends anything, and is closed; a closed connection frees its place.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AllocationClient } from "../../src/client/allocation-client.js";
import type { ClientError } from "../../src/client/errors.js";
import { type ErrorFrame, FrameType } from "../../src/protocol/frames.js";
import type { PeerCredentialSource } from "../../src/server/peer-credentials.js";
import { waitFor } from "../support/wait-for.js";
import { RawClient } from "./raw-client.js";
import { startTestServer, type TestServer, WITHOUT_PEER_CREDENTIALS } from "./test-server.js";

/** Opens a connection that completes its handshake (admitted), or throws. */
async function admitted(server: TestServer): Promise<RawClient> {
  return RawClient.handshake(server.socketPath);
}

/** Opens a connection and expects the server to refuse it with `code`, unprompted. */
async function refused(server: TestServer, code: string, message: RegExp): Promise<void> {
  const client = await RawClient.connect(server.socketPath);
  const error = (await client.waitFor((f) => f.type === FrameType.ERROR)) as ErrorFrame;
  assert.equal(error.code, code);
  assert.match(error.message, message);
  await client.closed;
}

test("total cap: the connection over maxConnections gets SERVER_TOO_MANY_CONNECTIONS; a close frees a place", async () => {
  const server = await startTestServer({ maxConnections: 3, maxConnectionsPerUid: 3 });
  try {
    const open = [await admitted(server), await admitted(server), await admitted(server)];
    await refused(
      server,
      "SERVER_TOO_MANY_CONNECTIONS",
      /maximum of 3 open connections \(--max-connections\)/,
    );
    open.shift()!.destroy();
    // The server frees the place when it sees the close: until then a new connection is still refused.
    await waitFor(
      async () => {
        try {
          open.push(await admitted(server));
          return true;
        } catch {
          return false;
        }
      },
      { what: "a new connection to be admitted once one closed" },
    );
    for (const c of open) c.destroy();
  } finally {
    await server.stop();
  }
});

/** Kernel credentials as a test script says: the uid of each new connection in turn. */
function scriptedUids(uids: number[]): PeerCredentialSource {
  let next = 0;
  return {
    available: true,
    unavailableReason: undefined,
    of: () => ({ pid: process.pid, uid: uids[next++ % uids.length]!, gid: 0, startTicks: 0 }),
  };
}

test("per-uid cap: a uid over maxConnectionsPerUid gets SERVER_TOO_MANY_CONNECTIONS_FOR_UID, others still connect", async () => {
  const server = await startTestServer({
    maxConnections: 10,
    maxConnectionsPerUid: 2,
    peerCredentials: scriptedUids([1000, 1000, 1000, 2000, 2000]),
  });
  try {
    const a = await admitted(server);
    const b = await admitted(server);
    await refused(
      server,
      "SERVER_TOO_MANY_CONNECTIONS_FOR_UID",
      /uid 1000 already has 2 open connections, the maximum \(--max-connections-per-uid\)/,
    );
    const c = await admitted(server);
    const d = await admitted(server);
    for (const client of [a, b, c, d]) client.destroy();
  } finally {
    await server.stop();
  }
});

test("without peer credentials every connection counts as one uid", async () => {
  const server = await startTestServer({
    maxConnections: 10,
    maxConnectionsPerUid: 2,
    peerCredentials: WITHOUT_PEER_CREDENTIALS,
  });
  try {
    const open = [await admitted(server), await admitted(server)];
    await refused(server, "SERVER_TOO_MANY_CONNECTIONS_FOR_UID", /uids are unknown here/);
    for (const c of open) c.destroy();
  } finally {
    await server.stop();
  }
});

test("a client refused by a full server reports the server's reason and keeps retrying", async () => {
  const server = await startTestServer({ maxConnections: 1 });
  const holder = await admitted(server);
  const errors: ClientError[] = [];
  const client = new AllocationClient({
    socketPath: server.socketPath,
    devices: [],
    reconnectInitialMs: 10,
    reconnectMaxMs: 20,
    onError: (e) => errors.push(e),
  });
  try {
    await waitFor(() => errors.some((e) => e.message.includes("SERVER_TOO_MANY_CONNECTIONS")), {
      what: "the client to report the refusal",
      detail: () => errors.map((e) => e.message).join("; "),
    });
    holder.destroy();
    await waitFor(() => client.state === "ready", { what: "the client to get in once the place is free" });
  } finally {
    await client.close({ timeoutMs: 1000 });
    await server.stop();
  }
});
