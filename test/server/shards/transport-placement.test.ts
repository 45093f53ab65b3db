// Where connections go (shard-placement.ts): every connection of one process lands on one shard while
// it has one open there (a session's events may come on several connections, and only one shard's
// sequencer may see them); a new process goes to the shard with the fewest open connections.
import assert from "node:assert/strict";
import { test } from "node:test";
import { kernelDescriptorDuplication } from "../../../src/server/descriptor-dup.js";
import { ShardHandOverError } from "../../../src/server/shards/errors.js";
import { ShardPlacement } from "../../../src/server/shards/shard-placement.js";
import { waitFor } from "../../support/wait-for.js";
import { connectPair, listen, type RelayClient, relayClient, startTestPool } from "./transport-harness.js";

const duplication = kernelDescriptorDuplication();
const needsAddon = duplication.available ? {} : { skip: `addon not built: ${duplication.unavailableReason}` };

test("placement: sticky per pid while it has a connection, else least-loaded (lowest index on ties)", () => {
  const placement = new ShardPlacement(3);
  const all = () => true;
  assert.equal(placement.leastLoaded(all), 0);
  placement.add(0, 100);
  assert.equal(placement.leastLoaded(all), 1);
  placement.add(1, 200);
  placement.add(2, 300);
  placement.add(0, 100); // pid 100 again: its shard
  assert.equal(placement.stuck(100), 0);
  assert.deepEqual(placement.connections, [2, 1, 1]);
  assert.equal(placement.leastLoaded(all), 1);
  assert.equal(
    placement.leastLoaded((shard) => shard !== 1),
    2,
    "a shard that cannot take work is skipped",
  );
  assert.equal(
    placement.leastLoaded(() => false),
    -1,
  );
  placement.remove(0, 100);
  assert.equal(placement.stuck(100), 0, "still one connection open");
  placement.remove(0, 100);
  assert.equal(placement.stuck(100), undefined, "its last connection closed: free to go elsewhere");
  placement.add(2, undefined);
  assert.equal(placement.stuck(undefined), undefined, "an unknown peer is never sticky");
  assert.deepEqual(placement.connections, [0, 1, 2]);
});

test(
  "real connections from several processes: sticky by pid, new pids least-loaded",
  needsAddon,
  async () => {
    const { pool } = await startTestPool(3);
    const listener = await listen();
    const clients: RelayClient[] = [];
    try {
      const closed = new Map<RelayClient, number>();
      const place = (client: RelayClient) => {
        const shard = pool.shardFor(client.pid);
        pool.handOver(client.server, shard, { pong: true }, () =>
          closed.set(client, (closed.get(client) ?? 0) + 1),
        );
        return shard;
      };
      // Three processes: one per shard, in index order.
      for (let i = 0; i < 3; i++) clients.push(await relayClient(listener));
      assert.deepEqual(clients.map(place), [0, 1, 2]);
      // This process's own connections: all on the least-loaded shard at its first (shard 0), however
      // loaded that shard becomes.
      const own = [];
      for (let i = 0; i < 3; i++) {
        const pair = await connectPair(listener);
        const shard = pool.shardFor(process.pid);
        assert.equal(shard, 0);
        pool.handOver(pair.server, shard, {}, () => {});
        own.push(pair.client);
      }
      assert.deepEqual(pool.connections, [4, 1, 1]);
      // A fourth process goes to the least-loaded shard: 1 (tie with 2, lowest index).
      clients.push(await relayClient(listener));
      assert.equal(place(clients[3]!), 1);
      // A handover against the stickiness is refused (it would split a process across shards).
      const stray = await connectPair(listener);
      assert.throws(() => pool.handOver(stray.server, 2, {}, () => {}), ShardHandOverError);
      stray.client.destroy();
      // Every handed-over connection works on its shard.
      for (const client of clients) assert.equal(await client.roundTrip("ping"), "pong");
      // A process that exits: its onClosed runs once, and its shard's count drops.
      clients[2]!.child.kill();
      await clients[2]!.exited;
      await waitFor(() => closed.get(clients[2]!) === 1, { what: "onClosed of the exited process" });
      assert.deepEqual(pool.connections, [4, 2, 0]);
      assert.equal(pool.shardFor(process.pid), 0, "still stuck to shard 0, though shard 2 is empty");
      assert.equal(pool.shardFor(undefined), 2, "no credentials: least-loaded");
      // Once every connection of this process is closed, it is placed afresh.
      for (const socket of own) socket.destroy();
      await waitFor(() => pool.connections[0] === 1, { what: "this process's connections to close" });
      assert.equal(pool.shardFor(process.pid), 2);
      assert.equal(closed.get(clients[2]!), 1);
    } finally {
      for (const client of clients) client.child.kill();
      await Promise.all(clients.map((client) => client.exited));
      await listener.close();
      await pool.close();
    }
  },
);
