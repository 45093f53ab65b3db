// Synchronous calls from the main thread to ingest shards (shard-calls.ts): the main thread blocks on a
// shared counter and takes the reply off a port of its own, with a bound; replies are matched by id, so
// one that comes after its call gave up is dropped, never taken for the next call's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { kernelDescriptorDuplication } from "../../../src/server/descriptor-dup.js";
import {
  ShardCallFailedError,
  ShardCallTimeoutError,
  ShardErrorCode,
  ShardHandOverError,
} from "../../../src/server/shards/errors.js";
import { waitFor } from "../../support/wait-for.js";
import { connectPair, listen, startTestPool } from "./transport-harness.js";

const duplication = kernelDescriptorDuplication();
const needsAddon = duplication.available ? {} : { skip: `addon not built: ${duplication.unavailableReason}` };

test("call and callAll return each shard's reply, in shard order", needsAddon, async () => {
  const { pool } = await startTestPool(3);
  try {
    assert.deepEqual(pool.call(1, { echo: "one" }), { echo: "one", shard: 1 });
    assert.deepEqual(pool.callAll({ echo: [1, 2] }), [
      { echo: [1, 2], shard: 0 },
      { echo: [1, 2], shard: 1 },
      { echo: [1, 2], shard: 2 },
    ]);
    for (let i = 0; i < 200; i++) assert.deepEqual(pool.call(i % 3, { echo: i }), { echo: i, shard: i % 3 });
  } finally {
    await pool.close();
  }
});

test(
  "a call times out on a busy shard; its late reply is dropped, not given to the next call",
  needsAddon,
  async () => {
    const { pool } = await startTestPool(1, {}, { callTimeoutMs: 150 });
    try {
      const started = performance.now();
      assert.throws(
        () => pool.call(0, { spinMs: 1500 }),
        (error: unknown) =>
          error instanceof ShardCallTimeoutError &&
          error.code === ShardErrorCode.CALL_TIMEOUT &&
          error.shard === 0,
      );
      const waitedMs = performance.now() - started;
      assert.ok(
        waitedMs >= 140 && waitedMs < 1400,
        `the call gave up after ${waitedMs} ms, not at once or at the end`,
      );
      // Later calls time out while the shard still spins; the first that gets an answer gets its own.
      const reply = await waitFor(
        () => {
          try {
            return pool.call(0, { echo: "mine" });
          } catch (error) {
            if (error instanceof ShardCallTimeoutError) return undefined;
            throw error;
          }
        },
        { what: "a call answered after the busy shard's loop ended" },
      );
      assert.deepEqual(reply, { echo: "mine", shard: 0 });
      assert.ok(pool.lateReplies[0]! >= 1, "the spin's late reply was dropped");
    } finally {
      await pool.close();
    }
  },
);

test("callAll with one busy shard throws its timeout after awaiting the others", needsAddon, async () => {
  const { pool } = await startTestPool(2, {}, { callTimeoutMs: 150 });
  try {
    pool.post(1, { do: "spin", spinMs: 1500 });
    assert.throws(
      () => pool.callAll({ echo: 1 }),
      (error: unknown) => error instanceof ShardCallTimeoutError && error.shard === 1,
    );
    // Shard 0's reply was consumed by that callAll: the next call to it gets its own.
    assert.deepEqual(pool.call(0, { echo: 2 }), { echo: 2, shard: 0 });
  } finally {
    await pool.close();
  }
});

test("a handler that throws is a ShardCallFailedError carrying its message", needsAddon, async () => {
  const { pool } = await startTestPool(2);
  try {
    assert.throws(
      () => pool.call(1, { throw: "no such ledger" }),
      (error: unknown) =>
        error instanceof ShardCallFailedError &&
        error.code === ShardErrorCode.CALL_FAILED &&
        error.shard === 1 &&
        error.handlerMessage === "no such ledger",
    );
    assert.throws(() => pool.call(0, { uncloneable: true }), /reply cannot be posted/);
    assert.throws(
      () => pool.callAll({ throw: "both" }),
      (error: unknown) => (error as ShardCallFailedError).shard === 0,
    );
    // The shard is still fine.
    assert.deepEqual(pool.call(1, { echo: "ok" }), { echo: "ok", shard: 1 });
  } finally {
    await pool.close();
  }
});

test(
  "pushes from a shard arrive in order; post reaches the shard's message handler",
  needsAddon,
  async () => {
    const { pool } = await startTestPool(2);
    try {
      const seen: Array<[number, number]> = [];
      pool.onMessage((shard, message) => seen.push([shard, (message as { seq: number }).seq]));
      pool.post(0, { do: "push", count: 500 });
      pool.post(1, { do: "push", count: 500 });
      await waitFor(() => seen.length === 1000, { what: "1000 pushes", detail: () => `${seen.length}` });
      for (const shard of [0, 1]) {
        const order = seen.filter(([from]) => from === shard).map(([, seq]) => seq);
        assert.deepEqual(
          order,
          Array.from({ length: 500 }, (_, i) => i),
        );
      }
    } finally {
      await pool.close();
    }
  },
);

test(
  "close() terminates a worker that ignores stop, and runs onClosed for its connections",
  needsAddon,
  async () => {
    const { pool } = await startTestPool(1, { ignoreStop: true }, { stopTimeoutMs: 300 });
    const listener = await listen();
    try {
      const { client, server } = await connectPair(listener);
      let closedCalls = 0;
      pool.handOver(server, 0, {}, () => closedCalls++);
      const clientClosed = new Promise<void>((resolve) => client.once("close", () => resolve()));
      client.on("error", () => {});
      const started = performance.now();
      await pool.close();
      const tookMs = performance.now() - started;
      assert.ok(tookMs >= 290, `close waited for the stop timeout (${tookMs} ms)`);
      assert.equal(closedCalls, 1);
      await clientClosed; // the terminated thread's descriptor was closed
      await pool.close(); // idempotent
      assert.equal(closedCalls, 1);
      assert.throws(() => pool.call(0, { echo: 1 }), /closed/);
      assert.throws(
        () => pool.handOver(server, 0, {}, () => {}),
        (error: unknown) => !(error instanceof ShardHandOverError) && /closed/.test((error as Error).message),
      );
    } finally {
      await listener.close();
      await pool.close();
    }
  },
);

test(
  "close() of workers that stop when asked is quick and closes their connections",
  needsAddon,
  async () => {
    const { pool } = await startTestPool(2, {}, { stopTimeoutMs: 20_000 });
    const listener = await listen();
    try {
      const { client, server } = await connectPair(listener);
      let closedCalls = 0;
      pool.handOver(server, 1, {}, () => closedCalls++);
      const clientClosed = new Promise<void>((resolve) => client.once("close", () => resolve()));
      const started = performance.now();
      await pool.close();
      assert.ok(performance.now() - started < 15_000, "no worker needed terminating");
      assert.equal(closedCalls, 1);
      await clientClosed;
    } finally {
      await listener.close();
    }
  },
);
