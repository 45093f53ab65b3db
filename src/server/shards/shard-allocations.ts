import { AnomalyLog } from "../anomaly-log.js";
import type { AllocationSort, AllocationView, MemoryMapResponse } from "../api-types.js";
import { inexactMemoryMap, liveOfMapType, type MemoryMapRequest } from "../memory-map/memory-map.js";
import { MemoryMapQuery } from "../memory-map/memory-map-query.js";
import type { AllocationQueries } from "../queries.js";
import { Registry } from "../registry.js";
import type { ShardQuestion } from "./shard-core.js";
import type { ShardMirror } from "./shard-mirror.js";

/** Asks each of `shards` the question; answers in the same order (shard-pool.ts, or cores on this thread). */
export type AskShards = (shards: readonly number[], question: ShardQuestion) => unknown[];

/**
 * The allocation lists and memory maps of a sharded server: the shards that hold a ledger of the device
 * answer from their registries, and this merges.
 * - Lists: each shard's best `limit` in the list's order, merged; the total is the sum.
 * - Maps: a device held by one shard is that shard's map. A device whose allocations are spread over
 *   several shards (processes routed to different ingest threads share it) gets a map with `exact: false`
 *   and the totals: its extents would have to be merged across threads, which is not built
 *   (docs/ARCHITECTURE.md). A device no shard holds a ledger of has nothing allocated: its map is drawn
 *   from the descriptions alone.
 */
export class ShardAllocations implements AllocationQueries {
  /** Maps of devices no shard holds: an empty registry over the mirror's descriptions. */
  private readonly emptyMaps: MemoryMapQuery;

  constructor(
    private readonly mirror: ShardMirror,
    private readonly ask: AskShards,
  ) {
    this.emptyMaps = new MemoryMapQuery({
      registry: new Registry(new AnomalyLog(0)),
      catalog: mirror.catalog,
      processNameOf: () => "",
    });
  }

  list(
    deviceId: number,
    sort: AllocationSort,
    limit: number,
    sessionId: string | undefined,
    nowMs: number,
  ): { total: number; allocations: AllocationView[] } {
    void nowMs; // each shard ages its allocations by its own clock, the same monotonic clock
    let shards = [...this.mirror.shardsOf(deviceId)];
    if (sessionId !== undefined) {
      const session = this.mirror.get(sessionId);
      shards = session === undefined ? [] : shards.filter((s) => s === session.shard);
    }
    if (shards.length === 0 || limit <= 0) return { total: 0, allocations: [] };
    const answers = this.ask(shards, { op: "allocations", deviceId, sort, limit, sessionId }) as {
      total: number;
      allocations: AllocationView[];
    }[];
    if (answers.length === 1) return answers[0]!;
    let total = 0;
    const all: AllocationView[] = [];
    for (const answer of answers) {
      total += answer.total;
      for (const allocation of answer.allocations) all.push(allocation);
    }
    all.sort(ORDER[sort]);
    return { total, allocations: all.slice(0, limit) };
  }

  memoryMap(request: MemoryMapRequest): MemoryMapResponse {
    const shards = [...this.mirror.shardsOf(request.deviceId)];
    if (shards.length === 0) return this.emptyMaps.answer(request);
    if (shards.length === 1) {
      const { deviceId, memoryType, buckets } = request;
      return this.ask(shards, { op: "memory-map", deviceId, memoryType, buckets })[0] as MemoryMapResponse;
    }
    const device = this.mirror.findDevice(request.deviceId);
    return inexactMemoryMap(
      request,
      device,
      `device ${request.deviceId} is used by processes on ${shards.length} ingest threads (serve ` +
        "--ingest-threads): its allocations are not merged into one map, only the totals are",
      liveOfMapType(device, request.memoryType).usedBytes,
    );
  }
}

/** listAllocations' orders (queries.ts): size largest first, address lowest first, age oldest first; ties by id. */
const ORDER: Record<AllocationSort, (a: AllocationView, b: AllocationView) => number> = {
  size: (a, b) => b.sizeBytes - a.sizeBytes || a.allocationId - b.allocationId,
  address: (a, b) => a.address - b.address || a.allocationId - b.allocationId,
  age: (a, b) => b.ageMs - a.ageMs || a.allocationId - b.allocationId,
};
