import { evenBankBytes, memoryLayout } from "../../src/device/layout.js";
import { WORMHOLE_B0_N150 } from "../../src/device/presets.js";
import { AnomalyLog } from "../../src/server/anomaly-log.js";
import { MemoryMapBuilder } from "../../src/server/memory-map/memory-map.js";
import { Registry } from "../../src/server/registry.js";
import type { Benchmark } from "../harness/benchmark.js";
import { BenchmarkFailedError } from "../harness/errors.js";
import { median } from "../harness/stats.js";

const LIVE = 1_000_000;
const SESSIONS = 4;
const DEVICE_ID = 0;
const DRAM = 0;
const MAPS_PER_RUN = 21;
const COLD_MAPS_PER_RUN = 5;
/** Allocations freed and made again (another size, another id) before each map: 1% of the live ones. */
const CHANGED_PER_MAP = 10_000;
/** The larger churn of `memory_map_churn_ms`: 100k freed and made again (200k changes) before each map. */
const CHANGED_PER_MAP_LARGE = 100_000;

/**
 * The memory map of DRAM on a wormhole_b0_n150 holding 1M live allocations over 4 sessions (one
 * device, interleaved addresses in a shuffled order, gaps between them): gathering the extents from
 * the registry, and the 2048-slice aggregate with the exact free figures, as the HTTP route runs it
 * (without the JSON of a 2048-bucket answer). A run's value is the median of 21 maps by one builder, as
 * the server keeps one, with 10,000 allocations (1%) freed and made again at another size between two
 * maps (untimed): the builder brings its coverage up to date from the registry's change log.
 * `memory_map_churn_ms`: the same with 100,000 freed and made again between maps. `memory_map_cold_ms`:
 * the first map of a new builder (every live allocation counted: what a map costs when the change log no
 * longer holds everything since the last one), median of 5.
 */
export const memoryMap: Benchmark = {
  name: "memory_map_ms",
  tier: "micro",
  description: "memory map of DRAM with 1M live allocations on one device (4 sessions), 2048 buckets",
  metrics: [
    { name: "memory_map_ms", unit: "ms", target: 20, comparison: "<=" },
    { name: "memory_map_churn_ms", unit: "ms", comparison: "<=" },
    { name: "memory_map_cold_ms", unit: "ms", comparison: "<=" },
  ],
  warmupRuns: 1,
  async open(context) {
    const live = context.quick ? LIVE / 10 : LIVE;
    const layout = memoryLayout(WORMHOLE_B0_N150);
    const region = layout.regions[layout.regionOfType[DRAM]];
    const registry = new Registry(new AnomalyLog());
    const ledgers = Array.from({ length: SESSIONS }, (_, s) =>
      registry.ledger(registry.openAccount(s.toString(16).padStart(32, "0"), 1000 + s), DEVICE_ID),
    );
    // 32..512 B per bank, 1 KiB apart (a gap after each), allocated in a shuffled address order.
    const stride = 1024;
    const order = new Int32Array(live);
    for (let i = 0; i < live; i++) order[i] = i;
    let seed = 12345;
    for (let i = live - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const j = seed % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const idOf = new Float64Array(live);
    const sizeOf = new Float64Array(live);
    let nextId = 1;
    const make = (n: number, sizeUnits: number): void => {
      idOf[n] = nextId++;
      sizeOf[n] = 32 * (1 + (sizeUnits % 16)) * region.bankCount;
      const address = region.baseAddressBytes + n * stride;
      registry.allocate(ledgers[n % SESSIONS], DRAM, idOf[n], address, sizeOf[n], 0);
    };
    for (let i = 0; i < live; i++) make(order[i], order[i]);
    // Untimed between maps: `count` allocations freed and made again at another size.
    const churn = (count: number): void => {
      for (let i = 0; i < count; i++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const n = seed % live;
        registry.free(ledgers[n % SESSIONS], DRAM, idOf[n], sizeOf[n]);
        make(n, seed >>> 4);
      }
    };
    if (live * stride > region.sizePerBankBytes || evenBankBytes(region, 64 * region.bankCount) !== 64) {
      throw new BenchmarkFailedError("the workload does not fit the region as planned");
    }
    const builder = new MemoryMapBuilder(registry, () => "bench");
    const device = registry.findDevice(DEVICE_ID)!;
    const request = { deviceId: DEVICE_ID, memoryType: "DRAM" as const, buckets: 2048, nowMs: 0 };
    return {
      async runOnce() {
        const timedMaps = (changedPerMap: number): number => {
          const times: number[] = [];
          for (let i = 0; i < MAPS_PER_RUN; i++) {
            churn(changedPerMap);
            const started = process.hrtime.bigint();
            const map = builder.build(request, layout, device);
            times.push(Number(process.hrtime.bigint() - started) / 1e6);
            if (map.allocations !== live || map.buckets.length !== 2048 || map.largestFreeBlock === 0) {
              throw new BenchmarkFailedError(
                `map of ${map.allocations} allocations, ${map.buckets.length} buckets`,
              );
            }
          }
          return median(times);
        };
        const memoryMapMs = timedMaps(context.quick ? CHANGED_PER_MAP / 10 : CHANGED_PER_MAP);
        const churnMs = timedMaps(context.quick ? CHANGED_PER_MAP_LARGE / 10 : CHANGED_PER_MAP_LARGE);
        const coldTimes: number[] = [];
        for (let i = 0; i < COLD_MAPS_PER_RUN; i++) {
          const cold = new MemoryMapBuilder(registry, () => "bench");
          const started = process.hrtime.bigint();
          cold.build(request, layout, device);
          coldTimes.push(Number(process.hrtime.bigint() - started) / 1e6);
        }
        return {
          memory_map_ms: memoryMapMs,
          memory_map_churn_ms: churnMs,
          memory_map_cold_ms: median(coldTimes),
        };
      },
      async close() {},
    };
  },
};
