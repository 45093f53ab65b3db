// A shard's worker that dies (process.exit, an uncaught throw) takes its connections with it: each gets
// its onClosed once and its client sees the close; the shard is respawned (onShardRestart) until it has
// failed too often in a row, and then stays down, refusing work with a typed error.
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { test } from "node:test";
import { kernelDescriptorDuplication } from "../../../src/server/descriptor-dup.js";
import {
  NoShardAvailableError,
  ShardErrorCode,
  ShardStartError,
  ShardUnavailableError,
} from "../../../src/server/shards/errors.js";
import { waitFor } from "../../support/wait-for.js";
import { connectPair, listen, relayClient, startTestPool } from "./transport-harness.js";

const duplication = kernelDescriptorDuplication();
const needsAddon = duplication.available ? {} : { skip: `addon not built: ${duplication.unavailableReason}` };

function closedPromise(socket: Socket): Promise<void> {
  socket.on("error", () => {});
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

for (const how of ["exit", "throw"] as const) {
  test(
    `a worker that dies (${how}) closes its connections once each and is respawned`,
    needsAddon,
    async () => {
      const { pool, logLines } = await startTestPool(2, {}, { respawnDelayMs: 50 });
      const listener = await listen();
      try {
        const restarted: number[] = [];
        pool.onShardRestart((shard) => restarted.push(shard));
        // onShardExit: once per death, after the connections' onClosed, before the restart.
        const exited: { shard: number; closedBefore: number; restartedBefore: number }[] = [];
        pool.onShardExit((shard) =>
          exited.push({
            shard,
            closedBefore: closedCalls[0]! + closedCalls[1]!,
            restartedBefore: restarted.length,
          }),
        );
        const onDying: Socket[] = [];
        const closedCalls = [0, 0, 0];
        for (let i = 0; i < 2; i++) {
          const { client, server } = await connectPair(listener);
          onDying.push(client);
          pool.handOver(server, 1, {}, () => closedCalls[i]!++);
        }
        // Another process's connection, on the other shard.
        const survivor = await relayClient(listener);
        pool.handOver(survivor.server, pool.shardFor(survivor.pid), { pong: true }, () => closedCalls[2]!++);
        assert.deepEqual(pool.connections, [1, 2]);
        const clientsClosed = Promise.all(onDying.map(closedPromise));

        pool.post(1, { do: how });
        await waitFor(() => closedCalls[0] === 1 && closedCalls[1] === 1, {
          what: "onClosed of both connections",
        });
        await clientsClosed; // the dead thread's descriptors were closed: the peers are not left hanging
        assert.deepEqual(pool.connections, [1, 0]);
        assert.match(logLines.join(""), /shard worker exited unexpectedly/);
        // While it restarts, shard 1 takes no work, and new pids go to the shards that are up.
        if (restarted.length === 0) {
          assert.throws(
            () => pool.call(1, { echo: 1 }),
            (error: unknown) => error instanceof ShardUnavailableError && error.state === "restarting",
          );
          assert.equal(pool.shardFor(undefined), 0);
        }
        await waitFor(() => restarted.length === 1, { what: "shard 1 to restart" });
        assert.deepEqual(restarted, [1]);
        assert.deepEqual(exited, [{ shard: 1, closedBefore: 2, restartedBefore: 0 }]);
        assert.deepEqual(pool.call(1, { echo: "back" }), { echo: "back", shard: 1 });
        // The other shard's connection was not touched.
        assert.equal(await survivor.roundTrip("ping"), "pong");
        assert.deepEqual(closedCalls, [1, 1, 0]);
        survivor.child.stdin.end();
        survivor.child.kill();
        await survivor.exited;
        await waitFor(() => closedCalls[2] === 1, { what: "the survivor's onClosed" });
        assert.deepEqual(closedCalls, [1, 1, 1]);
      } finally {
        await listener.close();
        await pool.close();
      }
    },
  );
}

test("a shard that keeps failing after restarts stays down and refuses work", needsAddon, async () => {
  const starts = new SharedArrayBuffer(4 * 2);
  const { pool, logLines } = await startTestPool(
    2,
    { dieAfterReadyOnRestart: true, starts },
    { respawnDelayMs: 10, maxRestarts: 2 },
  );
  const listener = await listen();
  try {
    const restarted: number[] = [];
    pool.onShardRestart((shard) => restarted.push(shard));
    pool.post(0, { do: "exit" });
    await waitFor(() => /shard is down/.test(logLines.join("")), {
      what: "shard 0 to be given up",
      detail: () => logLines.join(""),
    });
    // Failures: the first exit, then two restarts that died at once = 3 > maxRestarts 2.
    assert.deepEqual([...new Int32Array(starts)], [1 + 2, 1], "shard 0 was restarted twice; shard 1 never");
    assert.throws(
      () => pool.call(0, { echo: 1 }),
      (error: unknown) =>
        error instanceof ShardUnavailableError &&
        error.state === "down" &&
        error.code === ShardErrorCode.UNAVAILABLE,
    );
    const { client, server } = await connectPair(listener);
    assert.throws(
      () => pool.handOver(server, 0, {}, () => {}),
      (error: unknown) => error instanceof ShardUnavailableError && error.state === "down",
    );
    assert.equal(server.destroyed, false, "the refused socket is the caller's still");
    // Placement avoids the down shard; the other keeps working.
    assert.equal(pool.shardFor(12345), 1);
    pool.handOver(server, 1, {}, () => {});
    assert.deepEqual(pool.call(1, { echo: 2 }), { echo: 2, shard: 1 });
    client.destroy();
  } finally {
    await listener.close();
    await pool.close();
  }
});

test("with every shard down, shardFor throws NoShardAvailableError", needsAddon, async () => {
  const { pool, logLines } = await startTestPool(1, {}, { maxRestarts: 0 });
  try {
    pool.post(0, { do: "exit" });
    await waitFor(() => /shard is down/.test(logLines.join("")), { what: "shard 0 to be given up" });
    assert.throws(
      () => pool.shardFor(process.pid),
      (error: unknown) => error instanceof NoShardAvailableError && error.code === ShardErrorCode.UNAVAILABLE,
    );
  } finally {
    await pool.close();
  }
});

test("a restart that fails to start is retried, and counts toward the bound", needsAddon, async () => {
  const starts = new SharedArrayBuffer(4);
  const { pool, logLines } = await startTestPool(
    1,
    { failStart: "restarts", starts },
    { respawnDelayMs: 10, maxRestarts: 3 },
  );
  try {
    pool.post(0, { do: "throw" });
    await waitFor(() => /shard is down/.test(logLines.join("")), { what: "shard 0 to be given up" });
    assert.equal(
      Atomics.load(new Int32Array(starts), 0),
      1 + 3,
      "the first start, then three failed restarts",
    );
    const retries = logLines.filter((line) => /shard worker did not restart/.test(line));
    assert.equal(retries.length, 3);
    for (const line of retries) assert.match(line, /refuses to start/);
  } finally {
    await pool.close();
  }
});

test(
  "a worker that fails to start rejects start with ShardStartError naming the shard",
  needsAddon,
  async () => {
    const starts = new SharedArrayBuffer(4);
    await assert.rejects(
      startTestPool(1, { failStart: "always", starts }),
      (error: unknown) =>
        error instanceof ShardStartError &&
        error.code === ShardErrorCode.START_FAILED &&
        error.shard === 0 &&
        /shard 0 did not start: test shard 0 refuses to start/.test(error.message),
    );
    await assert.rejects(
      startTestPool(1, {}, { workerUrl: new URL("./no-such-worker.js", import.meta.url) }),
      (error: unknown) => error instanceof ShardStartError && error.shard === 0,
    );
    await assert.rejects(startTestPool(0), /shards must be an integer from 1 to 256/);
    await assert.rejects(
      startTestPool(1, {}, { callTimeoutMs: 0 }),
      /callTimeoutMs must be a positive number/,
    );
  },
);
