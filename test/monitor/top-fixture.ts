// A fixed source for top's tests: the smi fixture summary, a minute of series with a CB burst, and
// allocations for the drill-down; the clock is fixed so frames are exact.
import type { FeedSnapshot, TopSource } from "../../src/monitor/top/live-feed.js";
import { SeriesWindow } from "../../src/monitor/top/series-window.js";
import type {
  AllocationsResponse,
  AllocationView,
  SeriesBucket,
  SummaryResponse,
} from "../../src/server/api-types.js";
import { fixtureSummary } from "./smi-fixture.js";

export const NOW = Date.UTC(2026, 0, 1, 12, 0, 59, 500);
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const MiB = 1024 ** 2;

function bucket(second: number, max: number, last = max): SeriesBucket {
  return { t: T0 + second * 1000, min: 0, max, last };
}

/** Device 0: DRAM rising 1 → 1.5 GiB over the minute; CB bursting to 900 KiB in seconds 20 and 40. */
export function fixtureSeries(): SeriesWindow {
  const window = new SeriesWindow();
  const empty = { DRAM: [], L1: [], SYSTEM_MEMORY: [], L1_SMALL: [], TRACE: [], CB: [], KERNEL: [] };
  window.merge({
    bucketMs: 1000,
    windowMs: 900_000,
    devices: [
      {
        id: 0,
        used: {
          ...empty,
          DRAM: Array.from({ length: 60 }, (_, s) => bucket(s, 1024 * MiB + s * 8.5 * MiB)),
          CB: [bucket(20, 900 * 1024, 0), bucket(40, 900 * 1024, 0)],
          L1: [bucket(0, 12.5 * MiB)],
        },
      },
      { id: 1, used: { ...empty, DRAM: [bucket(0, 11 * 1024 * MiB)] } },
    ],
    processes: [],
  });
  return window;
}

function allocation(id: number, sizeBytes: number, ageMs: number): AllocationView {
  return {
    sessionId: "ab".repeat(16),
    pid: 4242,
    deviceId: 0,
    memoryType: "DRAM",
    context: "",
    allocationId: id,
    address: 0x1000 * id,
    sizeBytes,
    ageMs,
  };
}

export interface FixedSource extends TopSource {
  calls: { deviceId: number; sessionId: string; sort: string; limit: number }[];
  set(snapshot: Partial<FeedSnapshot>): void;
}

export function fixedSource(
  snapshot: Partial<FeedSnapshot> = {},
  summary: SummaryResponse = fixtureSummary,
): FixedSource {
  let current: FeedSnapshot = { status: "live", summary, series: fixtureSeries(), ...snapshot };
  const listeners = new Set<() => void>();
  const calls: FixedSource["calls"] = [];
  return {
    calls,
    snapshot: () => current,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(change) {
      current = { ...current, ...change };
      for (const l of listeners) l();
    },
    async allocations(deviceId, sessionId, sort, limit): Promise<AllocationsResponse> {
      calls.push({ deviceId, sessionId, sort, limit });
      const list =
        sort === "size"
          ? [allocation(7, 512 * MiB, 1_000), allocation(3, 256 * MiB, 65_000)]
          : [allocation(1, 4 * MiB, 3_700_000), allocation(3, 256 * MiB, 65_000)];
      return { deviceId, sort, limit, total: 100, allocations: list };
    },
  };
}
