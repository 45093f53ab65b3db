import type { AllocationRequest } from "../../src/device/allocator/types.js";
import { ChangeRecord, FitPolicy } from "../../src/device/allocator/types.js";
import { Device } from "../../src/device/device.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { WORMHOLE_B0_N150 } from "../../src/device/presets.js";
import { seededRandom } from "../fixtures/random.js";
import type { Benchmark } from "../harness/benchmark.js";

const PAGE_BYTES = 2048;
/** Distinct request shapes (1..96 pages, interleaved over the 12 DRAM banks); preallocated objects. */
const REQUEST_SHAPES = 256;
/** Victim candidates the planner draws before it settles for a random one. */
const VICTIM_TRIES = 128;

function newDevice(policy: FitPolicy, liveBlocks: number): Device {
  return Device.create(WORMHOLE_B0_N150, { id: 0, policy, maxBlocksPerRegion: 4 * liveBlocks });
}

/**
 * A fragmented DRAM free list whose hole count stays at `targetHoles` from run to run.
 *
 * Set-up: liveBlocks + targetHoles blocks of random sizes, then targetHoles of them freed, evenly spread,
 * so liveBlocks live blocks are separated by targetHoles holes of mixed sizes. Each pair allocates a
 * random size and frees a live block (the new block takes its place in the live set).
 *
 * Random victims alone let the holes merge: from 10,001 the free blocks fall to ~1,100 (first fit) or
 * ~520 (best fit) within 1M pairs. So the victims are chosen by a planner: a second device with the very
 * same state runs each pair first, untimed, and picks a victim whose neighbours are both live (freeing it
 * adds a hole) while there are fewer holes than the target, one next to a hole (freeing it merges) while
 * there are more, a random one otherwise. The timed device then replays the planned pairs. The allocator
 * is deterministic, so both devices stay identical and the timed loop is plain array reads. With 10k live
 * blocks the planner holds 1k holes; 10k holes need 20k live blocks (at 10k each live block already
 * touches a hole and the count drifts down to ~7k).
 */
export class FragmentedDevice {
  readonly device: Device;
  private readonly planner: Device;
  private readonly requests: AllocationRequest[] = [];
  /** Timed device's live set: address per live index. */
  private readonly live: Float64Array;
  /** Planner's live set: address and per-bank size per live index, and index by start / end address. */
  private readonly planLive: Float64Array;
  private readonly planSize: Float64Array;
  private readonly byStart = new Map<number, number>();
  private readonly byEnd = new Map<number, number>();
  private readonly regionStart: number;
  private readonly regionEnd: number;
  private readonly random: () => number;
  private holes: number;
  /** Planned request shape and victim per pair. */
  private readonly shapeOfPair: Uint8Array;
  private readonly victimOfPair: Uint32Array;

  constructor(
    policy: FitPolicy,
    private readonly liveBlocks: number,
    readonly targetHoles: number,
    private readonly pairsPerRun: number,
    /** "record": allocateInto / deallocateInto with one ChangeRecord (DeviceBuffer's path); "objects": allocate / deallocate. */
    private readonly results: "record" | "objects" = "record",
  ) {
    this.live = new Float64Array(liveBlocks);
    this.planLive = new Float64Array(liveBlocks);
    this.planSize = new Float64Array(liveBlocks);
    this.device = newDevice(policy, liveBlocks);
    this.planner = newDevice(policy, liveBlocks);
    const layout = this.device.layout;
    const region = layout.regions[layout.regionOfType[MemoryType.DRAM]!]!;
    this.regionStart = region.baseAddressBytes;
    this.regionEnd = region.baseAddressBytes + region.sizePerBankBytes;
    this.random = seededRandom((policy === FitPolicy.FIRST_FIT ? 1 : 2) + 16 * targetHoles);
    for (let i = 0; i < REQUEST_SHAPES; i++) {
      const pages = 1 + Math.floor(this.random() * 96);
      this.requests.push({
        memoryType: MemoryType.DRAM,
        sizeBytes: pages * PAGE_BYTES,
        pageSizeBytes: PAGE_BYTES,
      });
    }
    const total = this.liveBlocks + targetHoles;
    const shapes: number[] = [];
    for (let i = 0; i < total; i++) shapes.push(Math.floor(this.random() * REQUEST_SHAPES));
    for (const device of [this.device, this.planner]) {
      const allocator = device.allocator;
      const all = shapes.map((shape) => allocator.allocate(this.requests[shape]!));
      let kept = 0;
      for (let i = 0; i < total; i++) {
        // Free every (total / targetHoles)-th block: the holes spread over the whole used range.
        const freed = Math.floor(((i + 1) * targetHoles) / total) > Math.floor((i * targetHoles) / total);
        const a = all[i]!;
        if (freed) {
          allocator.deallocate(MemoryType.DRAM, a.address);
          continue;
        }
        if (device === this.device) this.live[kept] = a.address;
        else this.plantLive(kept, a.address, a.sizePerBankBytes);
        kept++;
      }
    }
    this.holes = this.freeBlocks;
    this.shapeOfPair = new Uint8Array(pairsPerRun);
    this.victimOfPair = new Uint32Array(pairsPerRun);
  }

  /** Free blocks of the timed device's DRAM region. */
  get freeBlocks(): number {
    return this.device.allocator.statistics(MemoryType.DRAM).freeBlocks;
  }

  /** Plans the next run's pairs on the planner device (untimed). */
  plan(): void {
    const allocator = this.planner.allocator;
    this.holes = allocator.statistics(MemoryType.DRAM).freeBlocks;
    for (let i = 0; i < this.pairsPerRun; i++) {
      const shape = Math.floor(this.random() * REQUEST_SHAPES);
      const a = allocator.allocate(this.requests[shape]!);
      // An allocation takes a hole's start or end: it removes the hole only when it fills it exactly.
      if (this.isLive(a.address, true) && this.isLive(a.address + a.sizePerBankBytes, false)) this.holes--;
      // The new block is live for the victim's neighbour checks (its live index is the victim's, below).
      this.byStart.set(a.address, -1);
      this.byEnd.set(a.address + a.sizePerBankBytes, -1);
      const v = this.chooseVictim();
      const address = this.planLive[v]!;
      const end = address + this.planSize[v]!;
      const prevLive = this.isLive(address, true);
      const nextLive = this.isLive(end, false);
      allocator.deallocate(MemoryType.DRAM, address);
      this.byStart.delete(address);
      this.byEnd.delete(end);
      this.holes += prevLive && nextLive ? 1 : !prevLive && !nextLive ? -1 : 0;
      this.plantLive(v, a.address, a.sizePerBankBytes);
      this.shapeOfPair[i] = shape;
      this.victimOfPair[i] = v;
    }
  }

  /** Pairs per second over the planned allocate+deallocate pairs. */
  run(): number {
    const allocator = this.device.allocator;
    const requests = this.requests;
    const live = this.live;
    const shapes = this.shapeOfPair;
    const victims = this.victimOfPair;
    const pairs = this.pairsPerRun;
    const grant = new ChangeRecord();
    const started = process.hrtime.bigint();
    if (this.results === "record") {
      for (let i = 0; i < pairs; i++) {
        const address = allocator.allocateInto(requests[shapes[i]!]!, grant).address;
        const v = victims[i]!;
        allocator.deallocateInto(MemoryType.DRAM, live[v]!, grant);
        live[v] = address;
      }
    } else {
      for (let i = 0; i < pairs; i++) {
        const address = allocator.allocate(requests[shapes[i]!]!).address;
        const v = victims[i]!;
        allocator.deallocate(MemoryType.DRAM, live[v]!);
        live[v] = address;
      }
    }
    const elapsedNs = Number(process.hrtime.bigint() - started);
    return (pairs / elapsedNs) * 1e9;
  }

  /** Whether the block ending (before) or starting (after) at `boundary` is live; a region edge counts as live. */
  private isLive(boundary: number, before: boolean): boolean {
    if (before) return boundary === this.regionStart || this.byEnd.has(boundary);
    return boundary === this.regionEnd || this.byStart.has(boundary);
  }

  private plantLive(index: number, address: number, sizePerBankBytes: number): void {
    this.planLive[index] = address;
    this.planSize[index] = sizePerBankBytes;
    this.byStart.set(address, index);
    this.byEnd.set(address + sizePerBankBytes, index);
  }

  private chooseVictim(): number {
    const want = Math.sign(this.targetHoles - this.holes);
    let v = Math.floor(this.random() * this.liveBlocks);
    if (want === 0) return v;
    for (let t = 0; t < VICTIM_TRIES; t++) {
      const address = this.planLive[v]!;
      const prevLive = this.isLive(address, true);
      const nextLive = this.isLive(address + this.planSize[v]!, false);
      if (want > 0 ? prevLive && nextLive : !prevLive || !nextLive) return v;
      v = Math.floor(this.random() * this.liveBlocks);
    }
    return v;
  }
}

interface Workload {
  suffix: string;
  policy: FitPolicy;
  live: number;
  holes: number;
  results: "record" | "objects";
}

const WORKLOADS: Workload[] = [
  { suffix: "", policy: FitPolicy.FIRST_FIT, live: 10_000, holes: 1_000, results: "record" },
  { suffix: "_best_fit", policy: FitPolicy.BEST_FIT, live: 10_000, holes: 1_000, results: "record" },
  { suffix: "_10k_holes", policy: FitPolicy.FIRST_FIT, live: 20_000, holes: 10_000, results: "record" },
  {
    suffix: "_best_fit_10k_holes",
    policy: FitPolicy.BEST_FIT,
    live: 20_000,
    holes: 10_000,
    results: "record",
  },
  // The same first-fit pairs through allocate / deallocate, which return a new object per call.
  { suffix: "_objects", policy: FitPolicy.FIRST_FIT, live: 10_000, holes: 1_000, results: "objects" },
];

export const allocatorPairs: Benchmark = {
  name: "allocator_pairs_per_s",
  tier: "micro",
  description:
    "Allocator.allocateInto + deallocateInto pairs (one ChangeRecord) on a fragmented DRAM free list (10k " +
    "live blocks; ~1k and ~10k holes held steady), first-fit and best-fit; _objects: allocate + deallocate",
  metrics: [
    { name: "allocator_pairs_per_s", unit: "pairs/s", target: 3_000_000, comparison: ">=" },
    { name: "allocator_pairs_per_s_best_fit", unit: "pairs/s", target: 4_120_000, comparison: ">=" },
    { name: "allocator_pairs_per_s_10k_holes", unit: "pairs/s", comparison: ">=" },
    { name: "allocator_pairs_per_s_best_fit_10k_holes", unit: "pairs/s", comparison: ">=" },
    { name: "allocator_pairs_per_s_objects", unit: "pairs/s", comparison: ">=" },
    ...WORKLOADS.flatMap((w) => [
      { name: `allocator_holes_start${w.suffix || "_first_fit"}`, unit: "holes", comparison: ">=" as const },
      { name: `allocator_holes_end${w.suffix || "_first_fit"}`, unit: "holes", comparison: ">=" as const },
    ]),
  ],
  warmupRuns: 2,
  async open(context) {
    const pairs = context.quick ? 50_000 : 1_000_000;
    const devices = WORKLOADS.map((w) => new FragmentedDevice(w.policy, w.live, w.holes, pairs, w.results));
    context.progress(`free blocks at set-up: ${devices.map((d) => d.freeBlocks).join(", ")}`);
    return {
      async runOnce() {
        const values: Record<string, number> = {};
        WORKLOADS.forEach((w, i) => {
          const d = devices[i]!;
          d.plan();
          const name = w.suffix || "_first_fit";
          values[`allocator_holes_start${name}`] = d.freeBlocks;
          values[`allocator_pairs_per_s${w.suffix}`] = d.run();
          values[`allocator_holes_end${name}`] = d.freeBlocks;
        });
        return values;
      },
      async close() {
        for (const d of devices) d.device.close();
      },
    };
  },
};
