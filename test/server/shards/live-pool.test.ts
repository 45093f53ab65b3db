// The server-wide live-allocation limit shared by ingest shards (src/server/shards/live-pool.ts): on real
// threads taking and giving back reservations at random, the allocations held never pass the limit and
// the reservations always cover them; a shard refused while others hold spare reservations gets room
// once they give it back; chunks shrink with small limits.
import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import { LivePool } from "../../../src/server/shards/live-pool.js";

const WORKER = new URL("./live-pool-worker.js", import.meta.url);

test("4 threads reserving from one pool never hold more than the limit together", async () => {
  const maxLive = 5000;
  const buffer = new SharedArrayBuffer(LivePool.BYTES);
  const held = new SharedArrayBuffer(4);
  const workers = [1, 2, 3, 4].map(
    (seed) => new Worker(WORKER, { workerData: { buffer, held, maxLive, shards: 4, steps: 200_000, seed } }),
  );
  const results = (await Promise.all(workers.map((w) => once(w, "message")))).map(([r]) => r) as {
    refused: number;
    overLimit: number;
    live: number;
    quota: number;
  }[];
  const pool = new LivePool(buffer, maxLive, 4);
  for (const r of results) {
    assert.equal(r.overLimit, 0);
    assert.ok(r.live <= r.quota, "a thread's allocations are within its reservation");
  }
  assert.ok(
    results.some((r) => r.refused > 0),
    "the limit was reached",
  );
  const live = results.reduce((sum, r) => sum + r.live, 0);
  assert.equal(new Int32Array(held)[0], live);
  assert.equal(
    pool.total,
    results.reduce((sum, r) => sum + r.quota, 0),
    "the pool counts every reservation",
  );
  assert.ok(pool.total <= maxLive);
});

test("a refused shard gets room when another gives its spare back; chunks follow the limit", () => {
  const buffer = new SharedArrayBuffer(LivePool.BYTES);
  const a = new LivePool(buffer, 100, 3);
  const b = new LivePool(buffer, 100, 3);
  assert.equal(a.chunk, 4, "100 / (8 × 3 shards), rounded down");
  assert.equal(new LivePool(new SharedArrayBuffer(8), 8_388_608, 16).chunk, 1024);
  assert.equal(new LivePool(new SharedArrayBuffer(8), 3, 16).chunk, 1);
  // Take everything with A, a chunk at a time.
  let quotaA = 0;
  for (;;) {
    const next = a.reserve(quotaA);
    if (next === quotaA) break;
    quotaA = next;
  }
  assert.equal(quotaA, 100);
  assert.equal(b.reserve(0), 0, "nothing left for B");
  // A holds 10 live allocations: it keeps two chunks of spare, the rest goes back.
  quotaA = a.giveBack(quotaA, 10);
  assert.equal(quotaA, 18);
  assert.equal(b.reserve(0), 4, "B gets a chunk");
  assert.equal(a.total, 22);
});
