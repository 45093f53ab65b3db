/**
 * A real runtime workload for client tests: a Device, a GraphTracker whose TrackingProcessor feeds the
 * client, and a churn of buffer allocations and frees. The allocator is the source of truth the tests
 * compare the server's replay with.
 */
import type { AllocationClient } from "../../src/client/allocation-client.js";
import { deviceOptions } from "../../src/client/device-description.js";
import { TrackingProcessor } from "../../src/client/tracking-processor.js";
import { Device } from "../../src/device/device.js";
import { DeviceBuffer } from "../../src/device/device-buffer.js";
import { GraphTracker } from "../../src/device/graph-tracker.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { WORMHOLE_B0_N150 } from "../../src/device/presets.js";
import type { LiveAllocation } from "../../src/protocol/event.js";

const TYPES = [MemoryType.DRAM, MemoryType.L1, MemoryType.TRACE, MemoryType.CB, MemoryType.KERNEL];

export class DeviceWorkload {
  readonly devices: Device[];
  readonly tracker = new GraphTracker();
  private readonly live: DeviceBuffer[][];
  private rng: number;

  constructor(deviceIds: number[] = [0], seed = 1) {
    const start = process.hrtime.bigint();
    const clock = () => Number(process.hrtime.bigint() - start);
    this.devices = deviceIds.map((id) => Device.create(WORMHOLE_B0_N150, { id, clock }));
    this.live = deviceIds.map(() => []);
    this.rng = seed;
  }

  /** `devices` and `snapshot` options for an AllocationClient over these devices. */
  clientOptions() {
    return deviceOptions(this.devices);
  }

  attach(client: AllocationClient): void {
    this.tracker.addProcessor(new TrackingProcessor(client));
  }

  /** `changes` allocator changes (allocations and frees) spread over the devices; at most ~200 live each. */
  churn(changes: number): void {
    for (let i = 0; i < changes; i++) {
      const d = this.next(this.devices.length);
      const live = this.live[d];
      if (live.length > 0 && (live.length >= 200 || this.next(2) === 0)) {
        const at = this.next(live.length);
        const [buffer] = live.splice(at, 1);
        buffer.deallocate();
      } else {
        const memoryType = TYPES[this.next(TYPES.length)];
        const pages = 1 + this.next(4);
        live.push(
          DeviceBuffer.create(
            this.devices[d],
            { memoryType, sizeBytes: pages * 1024, pageSizeBytes: 1024 },
            { tracker: this.tracker },
          ),
        );
      }
    }
  }

  /** The allocator's live set of device `d` (by index), keyed by allocation id. */
  liveSet(d = 0): { seq: number; live: Map<number, LiveAllocation> } {
    const snapshot = this.devices[d].allocator.snapshot();
    const live = new Map<number, LiveAllocation>();
    for (const a of snapshot.allocations) {
      live.set(a.allocationId, {
        allocationId: a.allocationId,
        memoryType: a.memoryType,
        address: a.address,
        sizeBytes: a.sizeBytes,
      });
    }
    return { seq: snapshot.seq, live };
  }

  private next(n: number): number {
    // xorshift32: deterministic, so a failing run can be replayed.
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng % n;
  }
}

/** Sorted array form of a live set, for deepEqual with a readable diff. */
export function sortedLive(live: Map<number, LiveAllocation>): LiveAllocation[] {
  return [...live.values()]
    .map((a) => ({
      allocationId: a.allocationId,
      memoryType: a.memoryType,
      address: a.address,
      sizeBytes: a.sizeBytes,
    }))
    .sort((a, b) => a.allocationId - b.allocationId);
}

/**
 * Lets `ms` of real time pass between slices of a workload, so that the client's own (real) timers run
 * as they would in a busy process. Not a way to wait for a condition: use test/support/wait-for.ts.
 */
export const tick = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));
