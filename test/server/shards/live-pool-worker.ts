// A thread for live-pool.test.ts: takes and gives back reservations at random and keeps, in a second
// shared counter, the allocations it "holds" (always within its quota), checking the limit each time.
import { parentPort, workerData } from "node:worker_threads";
import { LivePool } from "../../../src/server/shards/live-pool.js";

const { buffer, held, maxLive, shards, steps, seed } = workerData as {
  buffer: SharedArrayBuffer;
  held: SharedArrayBuffer;
  maxLive: number;
  shards: number;
  steps: number;
  seed: number;
};
const pool = new LivePool(buffer, maxLive, shards);
const holding = new Int32Array(held);
let state = seed;
const next = (bound: number) => {
  state = (state * 1103515245 + 12345) & 0x7fffffff;
  return state % bound;
};
let quota = 0;
let live = 0;
let refused = 0;
let overLimit = 0;
for (let i = 0; i < steps; i++) {
  if (next(3) !== 0) {
    if (live >= quota) quota = pool.reserve(quota);
    if (live < quota) {
      live++;
      if (Atomics.add(holding, 0, 1) + 1 > maxLive) overLimit++;
    } else refused++;
  } else if (live > 0) {
    live--;
    Atomics.sub(holding, 0, 1);
  }
  if (next(50) === 0) quota = pool.giveBack(quota, live);
}
parentPort!.postMessage({ refused, overLimit, live, quota });
