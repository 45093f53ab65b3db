import type { AllocationRequest } from "../../src/device/allocator/types.js";
import { FitPolicy } from "../../src/device/allocator/types.js";
import { Device } from "../../src/device/device.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { WORMHOLE_B0_N150 } from "../../src/device/presets.js";
import { seededRandom } from "../fixtures/random.js";
import type { Benchmark } from "../harness/benchmark.js";

const LIVE_BLOCKS = 10_000;
const PAGE_BYTES = 2048;
/** Distinct request shapes (1..96 pages, interleaved over the 12 DRAM banks); preallocated objects. */
const REQUEST_SHAPES = 256;

/**
 * One device with a fragmented DRAM free list: 2 × LIVE_BLOCKS blocks of random sizes allocated, every
 * other one freed, so LIVE_BLOCKS live blocks are separated by about as many free holes of mixed sizes.
 * Each pair allocates a random size and frees a random live block (the new block takes its place), so
 * the live count and the fragmentation stay put from run to run.
 */
export class FragmentedDevice {
  readonly device: Device;
  private readonly live = new Float64Array(LIVE_BLOCKS);
  private readonly requests: AllocationRequest[] = [];
  /** Pre-drawn request shape and victim per pair: no PRNG in the timed loop. */
  private readonly shapeOfPair: Uint8Array;
  private readonly victimOfPair: Uint32Array;
  private cursor = 0;

  constructor(policy: FitPolicy, pairsPerRun: number) {
    this.device = Device.create(WORMHOLE_B0_N150, { id: 0, policy, maxBlocksPerRegion: 8 * LIVE_BLOCKS });
    const random = seededRandom(policy === FitPolicy.FIRST_FIT ? 1 : 2);
    for (let i = 0; i < REQUEST_SHAPES; i++) {
      const pages = 1 + Math.floor(random() * 96);
      this.requests.push({
        memoryType: MemoryType.DRAM,
        sizeBytes: pages * PAGE_BYTES,
        pageSizeBytes: PAGE_BYTES,
      });
    }
    const allocator = this.device.allocator;
    const all: number[] = [];
    for (let i = 0; i < 2 * LIVE_BLOCKS; i++) {
      all.push(allocator.allocate(this.requests[Math.floor(random() * REQUEST_SHAPES)]!).address);
    }
    for (let i = 0; i < all.length; i++) {
      if (i % 2 === 0) allocator.deallocate(MemoryType.DRAM, all[i]!);
      else this.live[i >> 1] = all[i]!;
    }
    this.shapeOfPair = new Uint8Array(pairsPerRun);
    this.victimOfPair = new Uint32Array(pairsPerRun);
    for (let i = 0; i < pairsPerRun; i++) {
      this.shapeOfPair[i] = Math.floor(random() * REQUEST_SHAPES);
      this.victimOfPair[i] = Math.floor(random() * LIVE_BLOCKS);
    }
  }

  get freeBlocks(): number {
    return this.device.allocator.statistics(MemoryType.DRAM).freeBlocks;
  }

  /** Pairs per second over `pairs` allocate+deallocate pairs. */
  run(pairs: number): number {
    const allocator = this.device.allocator;
    const requests = this.requests;
    const live = this.live;
    const shapes = this.shapeOfPair;
    const victims = this.victimOfPair;
    const started = process.hrtime.bigint();
    for (let i = 0; i < pairs; i++) {
      const k = (this.cursor + i) % shapes.length;
      const address = allocator.allocate(requests[shapes[k]!]!).address;
      const v = victims[k]!;
      allocator.deallocate(MemoryType.DRAM, live[v]!);
      live[v] = address;
    }
    const elapsedNs = Number(process.hrtime.bigint() - started);
    this.cursor = (this.cursor + pairs) % shapes.length;
    return (pairs / elapsedNs) * 1e9;
  }
}

export const allocatorPairs: Benchmark = {
  name: "allocator_pairs_per_s",
  tier: "micro",
  description:
    "Allocator.allocate + deallocate pairs on a fragmented DRAM free list (10k live blocks, ~10k holes), " +
    "first-fit and best-fit",
  metrics: [
    { name: "allocator_pairs_per_s", unit: "pairs/s", target: 1_000_000, comparison: ">=" },
    { name: "allocator_pairs_per_s_best_fit", unit: "pairs/s", target: 1_000_000, comparison: ">=" },
  ],
  warmupRuns: 2,
  async open(context) {
    const pairs = context.quick ? 50_000 : 1_000_000;
    const firstFit = new FragmentedDevice(FitPolicy.FIRST_FIT, pairs);
    const bestFit = new FragmentedDevice(FitPolicy.BEST_FIT, pairs);
    context.progress(`free blocks: first-fit ${firstFit.freeBlocks}, best-fit ${bestFit.freeBlocks}`);
    return {
      async runOnce() {
        return {
          allocator_pairs_per_s: firstFit.run(pairs),
          allocator_pairs_per_s_best_fit: bestFit.run(pairs),
        };
      },
      async close() {
        firstFit.device.close();
        bestFit.device.close();
      },
    };
  },
};
