// Ingest shards (docs/ARCHITECTURE.md "Ingest on more than one core"): an accepted connection moves to
// a worker thread by descriptor. Its bytes go through intact both ways, the peer never sees the move,
// and the main thread learns exactly once that it closed.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Socket } from "node:net";
import { test } from "node:test";
import { kernelDescriptorDuplication, noDescriptorDuplication } from "../../../src/server/descriptor-dup.js";
import {
  ShardErrorCode,
  ShardHandOverError,
  ShardTransportUnavailableError,
} from "../../../src/server/shards/errors.js";
import { ShardPool } from "../../../src/server/shards/shard-pool.js";
import { waitFor } from "../../support/wait-for.js";
import { patternChunks, patternHash } from "./byte-pattern.js";
import { connectPair, listen, startTestPool, TEST_SHARD_URL } from "./transport-harness.js";

const duplication = kernelDescriptorDuplication();
const needsAddon = duplication.available ? {} : { skip: `addon not built: ${duplication.unavailableReason}` };

interface Received {
  kind: "received";
  id: number;
  bytes: number;
  sha256: string;
}

/** Writes the pattern to `socket` with back-pressure, then half-closes. */
async function writePattern(socket: Socket, seed: number, totalBytes: number): Promise<void> {
  for (const chunk of patternChunks(seed, totalBytes)) {
    if (socket.write(chunk)) continue;
    // A connection that closes while we wait fails the test instead of hanging it.
    await new Promise<void>((resolve, reject) => {
      const onClose = () => reject(new Error("the connection closed while the client was writing"));
      socket.once("close", onClose);
      socket.once("drain", () => {
        socket.off("close", onClose);
        resolve();
      });
    });
  }
  socket.end();
}

test("a handed-over connection carries 50+ MiB intact both ways", needsAddon, async () => {
  const { pool } = await startTestPool(2);
  const listener = await listen();
  try {
    const received: Received[] = [];
    pool.onMessage((_shard, message) => received.push(message as Received));
    // Half-open: the shard may finish writing its bytes before the client has written all of its own.
    const { client, server } = await connectPair(listener, true);
    const upBytes = 50 * 1024 * 1024 + 12_345;
    const downBytes = 52 * 1024 * 1024 + 7;
    let closedCalls = 0;
    pool.handOver(
      server,
      pool.shardFor(process.pid),
      { replyBytes: downBytes, seed: 99 },
      () => closedCalls++,
    );
    const down = createHash("sha256");
    let downCount = 0;
    client.on("data", (chunk: Buffer) => {
      downCount += chunk.length;
      down.update(chunk);
    });
    const clientClosed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    await writePattern(client, 7, upBytes);
    await clientClosed;
    assert.equal(downCount, downBytes);
    assert.equal(down.digest("hex"), patternHash(99, downBytes), "the bytes the shard wrote, unchanged");
    const report = await waitFor(() => received.find((m) => m.kind === "received"), {
      what: "the shard's report of what it read",
    });
    assert.equal(report.bytes, upBytes);
    assert.equal(report.sha256, patternHash(7, upBytes), "the bytes the client wrote, unchanged");
    await waitFor(() => closedCalls === 1, { what: "onClosed" });
    assert.deepEqual(pool.connections, [0, 0]);
  } finally {
    await listener.close();
    await pool.close();
  }
});

test(
  "the peer sees no EOF at handover, and onClosed runs once when the client closes",
  needsAddon,
  async () => {
    const { pool } = await startTestPool(1);
    const listener = await listen();
    try {
      const { client, server } = await connectPair(listener);
      let ended = false;
      client.on("end", () => {
        ended = true;
      });
      let closedCalls = 0;
      pool.handOver(server, 0, { pong: true }, () => closedCalls++);
      assert.ok(server.destroyed, "the main thread's handle is gone");
      assert.deepEqual(pool.connections, [1]);
      // A round trip through the worker after the main thread's handle closed.
      const pong = new Promise<string>((resolve) => client.once("data", (chunk) => resolve(String(chunk))));
      client.write("ping");
      assert.equal(await pong, "pong");
      assert.equal(ended, false, "the client saw no end of stream");
      assert.equal(closedCalls, 0);
      client.destroy();
      await waitFor(() => closedCalls === 1, { what: "onClosed after the client closed" });
      assert.deepEqual(pool.connections, [0]);
    } finally {
      await listener.close();
      await pool.close();
    }
  },
);

test(
  "handOver refuses a socket that has started reading (a listener without pauseOnConnect)",
  needsAddon,
  async () => {
    const { pool } = await startTestPool(1);
    const listener = await listen({ pauseOnConnect: false });
    try {
      const { client, server } = await connectPair(listener);
      let closedCalls = 0;
      assert.throws(
        () => pool.handOver(server, 0, {}, () => closedCalls++),
        (error: unknown) =>
          error instanceof ShardHandOverError &&
          error.code === ShardErrorCode.HANDOVER_FAILED &&
          /pauseOnConnect/.test(error.message),
      );
      assert.equal(server.destroyed, false, "a refused socket is left as it was");
      assert.deepEqual(pool.connections, [0]);
      server.destroy();
      client.destroy();
      server.destroy();
      assert.throws(() => pool.handOver(server, 0, {}, () => {}), /no descriptor/);
      assert.throws(() => pool.handOver(server, 5, {}, () => {}), /there is no shard 5/);
      assert.equal(closedCalls, 0);
    } finally {
      await listener.close();
      await pool.close();
    }
  },
);

test("handOver refuses a meta that cannot be cloned, leaving the socket usable", needsAddon, async () => {
  const { pool } = await startTestPool(1);
  const listener = await listen();
  try {
    const { client, server } = await connectPair(listener);
    assert.throws(() => pool.handOver(server, 0, { f: () => 1 }, () => {}), ShardHandOverError);
    assert.equal(server.destroyed, false);
    assert.deepEqual(pool.connections, [0]);
    // Still the main thread's: it can be handed over after all.
    let closedCalls = 0;
    pool.handOver(server, 0, { pong: true }, () => closedCalls++);
    const pong = new Promise<string>((resolve) => client.once("data", (chunk) => resolve(String(chunk))));
    client.write("ping");
    assert.equal(await pong, "pong");
    client.destroy();
    await waitFor(() => closedCalls === 1, { what: "onClosed" });
  } finally {
    await listener.close();
    await pool.close();
  }
});

test("a copy that fails is a ShardHandOverError carrying the addon's code", needsAddon, async () => {
  const failing = {
    available: true,
    unavailableReason: undefined,
    dup: () => duplication.dup(-1),
  };
  const { pool } = await startTestPool(1, {}, { duplication: failing });
  const listener = await listen();
  try {
    const { client, server } = await connectPair(listener);
    assert.throws(
      () => pool.handOver(server, 0, {}, () => {}),
      (error: unknown) =>
        error instanceof ShardHandOverError &&
        (error.cause as NodeJS.ErrnoException).code === "ERR_PEERCRED_ARGUMENT",
    );
    assert.equal(server.destroyed, false);
    client.destroy();
    server.destroy();
  } finally {
    await listener.close();
    await pool.close();
  }
});

test("without descriptor copies the pool refuses to start with ShardTransportUnavailableError", async () => {
  await assert.rejects(
    ShardPool.start({
      shards: 2,
      workerUrl: TEST_SHARD_URL,
      workerData: {},
      callTimeoutMs: 1000,
      log: (await import("pino")).default({ level: "silent" }),
      duplication: noDescriptorDuplication("no addon in this test"),
    }),
    (error: unknown) =>
      error instanceof ShardTransportUnavailableError &&
      error.code === ShardErrorCode.TRANSPORT_UNAVAILABLE &&
      /no addon in this test/.test(error.message),
  );
});
