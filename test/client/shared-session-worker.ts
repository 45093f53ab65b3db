/**
 * Worker program for shared-session-workers.test: attaches to a shared device, reports through its own
 * AllocationClient (same session id and resume secret as the main thread, its own connection) and churns buffers.
 * Does nothing unless started as that test's worker.
 */
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { TrackingProcessor } from "../../src/client/tracking-processor.js";
import { Device, type SharedDeviceHandle } from "../../src/device/device.js";
import { DeviceBuffer } from "../../src/device/device-buffer.js";
import { GraphTracker } from "../../src/device/graph-tracker.js";
import { MemoryType } from "../../src/device/memory-type.js";

export const WORKER_MARKER = "allocwatch.shared-session-worker";

export interface SharedSessionWorkerData {
  marker: typeof WORKER_MARKER;
  handle: SharedDeviceHandle;
  socketPath: string;
  sessionId: string;
  resumeSecret: string;
  changes: number;
  seed: number;
}

/** Allocates and frees DRAM/L1 buffers on `device`, keeping at most 100 live (left allocated at the end). */
export function churnShared(device: Device, tracker: GraphTracker, changes: number, seed: number): void {
  let rng = seed;
  const next = (n: number) => {
    rng ^= rng << 13;
    rng ^= rng >>> 17;
    rng ^= rng << 5;
    return (rng >>> 0) % n;
  };
  const live: DeviceBuffer[] = [];
  for (let i = 0; i < changes; i++) {
    if (live.length > 0 && (live.length >= 100 || next(2) === 0)) {
      live.splice(next(live.length), 1)[0].deallocate();
    } else {
      const memoryType = next(2) === 0 ? MemoryType.DRAM : MemoryType.L1;
      live.push(
        DeviceBuffer.create(device, { memoryType, sizeBytes: 2048, pageSizeBytes: 1024 }, { tracker }),
      );
    }
  }
}

if (!isMainThread && (workerData as SharedSessionWorkerData | undefined)?.marker === WORKER_MARKER) {
  const data = workerData as SharedSessionWorkerData;
  const device = Device.attach(data.handle);
  const tracker = new GraphTracker();
  // Other realms change this device too: this tracker sees an increasing subsequence of its numbers.
  tracker.observeDevice(device.id, { kind: "sparse" });
  const client = new AllocationClient({
    socketPath: data.socketPath,
    sessionId: data.sessionId,
    resumeSecret: data.resumeSecret,
    processName: "worker",
    devices: [
      {
        deviceId: device.id,
        name: device.name,
        architecture: "WORMHOLE_B0",
        capacityBytes: [0, 0, 0, 0, 0, 0, 0],
      },
    ],
  });
  tracker.addProcessor(new TrackingProcessor(client));
  churnShared(device, tracker, data.changes, data.seed);
  await client.close();
  parentPort?.postMessage(client.counters);
}
