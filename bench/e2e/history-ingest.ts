import type { Benchmark, OpenBenchmark } from "../harness/benchmark.js";
import { IngestRig } from "./ingest.js";

/** Connections (sessions) per server: each is a figure the history writes every second. */
const CONNECTIONS = 8;

/**
 * What keeping history costs the ingest path: two servers, one with `history` (an SQLite file written
 * once a second) and one without, each fed the same churn over 8 connections. Every run measures both,
 * in alternating order (so that neither always runs on a warmer or a busier machine), and reports both
 * rates and the cost of one against the other in that run.
 */
export const historyIngest: Benchmark = {
  name: "history_ingest_cost_pct",
  tier: "e2e",
  description:
    "ingest rate with history on vs off (SQLite written once a second: 9 figures = 1 device + 8 sessions), " +
    "8 connections, 100k live, alternated runs; cost = (off − on) / off",
  metrics: [
    { name: "history_ingest_cost_pct", unit: "%", target: 2, comparison: "<=" },
    { name: "history_ingest_events_per_s_on", unit: "events/s", comparison: ">=" },
    { name: "history_ingest_events_per_s_off", unit: "events/s", comparison: ">=" },
  ],
  runs: 7,
  async open(context): Promise<OpenBenchmark> {
    const live = context.quick ? 20_000 : 100_000;
    // Long enough for a run to span several of the history's 1-s writes.
    const events = context.quick ? 1_000_000 : 4_000_000;
    context.progress(`prefilling ${live} live allocations on 2 servers (history off and on)`);
    const off = await IngestRig.open(CONNECTIONS, live);
    let on: IngestRig;
    try {
      on = await IngestRig.open(CONNECTIONS, live, ["--history"]);
    } catch (error) {
      await off.close();
      throw error;
    }
    let run = 0;
    return {
      async runOnce() {
        const onFirst = run++ % 2 === 1;
        const first = await (onFirst ? on : off).run(events);
        const second = await (onFirst ? off : on).run(events);
        const withHistory = onFirst ? first : second;
        const without = onFirst ? second : first;
        return {
          history_ingest_cost_pct: ((without - withHistory) / without) * 100,
          history_ingest_events_per_s_on: withHistory,
          history_ingest_events_per_s_off: without,
        };
      },
      async close() {
        await Promise.all([off.close(), on.close()]);
      },
    };
  },
};
