import { AnomalyLog } from "../anomaly-log.js";
import {
  type AllocationSort,
  type AllocationView,
  API_MEMORY_TYPES,
  type MemoryMapResponse,
} from "../api-types.js";
import { inexactMemoryMap, MAX_MEMORY_MAP_BUCKETS, type MemoryMapRequest } from "../memory-map/memory-map.js";
import { MemoryMapQuery } from "../memory-map/memory-map-query.js";
import type { AllocationQueries } from "../queries.js";
import { Registry, type SessionAccount } from "../registry.js";
import type { ShardQuestion } from "./shard-core.js";
import type { ShardMirror } from "./shard-mirror.js";

/** Asks each of `shards` the question; answers in the same order (shard-pool.ts, or cores on this thread). */
export type AskShards = (shards: readonly number[], question: ShardQuestion) => unknown[];

/**
 * The allocation lists and memory maps of a sharded server: the shards that hold a ledger of the device
 * answer from their registries, and this merges.
 * - Lists: each shard's best `limit` in the list's order, merged; the total is the sum.
 * - Maps: a device held by one shard is that shard's map; one spread over several shards (processes on
 *   different ingest threads share it) is drawn from all their extents (`mergedMap`). A device no shard
 *   holds a ledger of has nothing allocated: its map is drawn from the descriptions alone.
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
    return this.mergedMap(request, shards);
  }

  /**
   * The map of a device whose allocations are spread over several shards: each shard lists its extents
   * (up to MAX_MEMORY_MAP_BUCKETS), and they are put into a scratch registry that the one map builder
   * draws, so that the answer is exactly what one registry holding them all would give. A shard with more
   * extents than that can only send its aggregate: the map is then `exact: false` with the totals.
   */
  private mergedMap(request: MemoryMapRequest, shards: readonly number[]): MemoryMapResponse {
    const { deviceId, memoryType } = request;
    const answers = this.ask(shards, {
      op: "memory-map",
      deviceId,
      memoryType,
      buckets: MAX_MEMORY_MAP_BUCKETS,
    }) as MemoryMapResponse[];
    const inexact = answers.find((a) => !a.exact);
    if (inexact !== undefined) return inexact;
    if (answers.some((a) => a.extents.length < a.allocations)) {
      return inexactMemoryMap(
        request,
        this.mirror.findDevice(deviceId),
        `device ${deviceId} is used by processes on ${shards.length} ingest threads (serve --ingest-threads) ` +
          `and one of them holds more than ${MAX_MEMORY_MAP_BUCKETS} of its ${memoryType} allocations: ` +
          "they are not merged into one map, only the totals are",
        answers.reduce((sum, a) => sum + (a.usedBytes ?? 0), 0),
      );
    }
    const scratch = new Registry(new AnomalyLog(0));
    const names = new Map<string, string>();
    const accounts = new Map<string, SessionAccount>();
    for (const answer of answers) {
      for (const extent of answer.extents) {
        let account = accounts.get(extent.sessionId);
        if (account === undefined) {
          account = scratch.openAccount(extent.sessionId, extent.pid);
          accounts.set(extent.sessionId, account);
          names.set(extent.sessionId, extent.processName);
        }
        scratch.allocate(
          scratch.ledger(account, deviceId),
          API_MEMORY_TYPES.indexOf(extent.memoryType ?? memoryType),
          extent.allocationId,
          extent.address,
          extent.sizeBytes,
          request.nowMs - extent.ageMs,
        );
      }
    }
    return new MemoryMapQuery({
      registry: scratch,
      catalog: this.mirror.catalog,
      processNameOf: (sessionId) => names.get(sessionId) ?? "",
    }).answer(request);
  }
}

/** listAllocations' orders (queries.ts): size largest first, address lowest first, age oldest first; ties by id. */
const ORDER: Record<AllocationSort, (a: AllocationView, b: AllocationView) => number> = {
  size: (a, b) => b.sizeBytes - a.sizeBytes || a.allocationId - b.allocationId,
  address: (a, b) => a.address - b.address || a.allocationId - b.allocationId,
  age: (a, b) => b.ageMs - a.ageMs || a.allocationId - b.allocationId,
};
