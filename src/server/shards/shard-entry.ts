/**
 * A shard worker thread (worker-shards.ts starts it through ShardPool): a ShardCore whose connections
 * the main thread hands over and whose updates it pushes back.
 */
import pino from "pino";
import { procLiveness } from "../process-liveness.js";
import { systemTimers } from "../timers.js";
import { LivePool } from "./live-pool.js";
import { ShardCore, type ShardQuestion } from "./shard-core.js";
import { connectShard, shardContext } from "./shard-port.js";
import type { ShardConnectionMeta, ShardEntryData } from "./worker-shards.js";

const { shard, workerData } = shardContext();
const data = workerData as ShardEntryData;
// Synchronous to fd 2, as the main thread's: lines are never lost, and nothing waits on the main thread.
const log = pino(
  { level: data.logLevel, base: { pid: process.pid, shard } },
  pino.destination({ dest: 2, sync: true }),
);
let port: ReturnType<typeof connectShard> | undefined;
const core = new ShardCore(data.limits, {
  log,
  timers: systemTimers,
  liveness: procLiveness,
  epochMs: Date.now,
  send: (update) => port?.push(update),
  livePool: new LivePool(data.livePool.buffer, data.limits.maxLiveAllocations, data.livePool.shards),
});
port = connectShard({
  connection: (_id, socket, meta) => core.accept(socket, (meta as ShardConnectionMeta).peer),
  call: (question) => core.answer(question as ShardQuestion),
  stop: () => core.stop(),
});
core.start();
port.ready();
