/**
 * Child program for the leak report tests: a real runtime workload (Device, GraphTracker,
 * TrackingProcessor, AllocationClient) that allocates inside TT-NN-like operations, then ends in one of
 * four ways (argv[4]): "exit" (process.exit without freeing or GOODBYE), "kill" (waits to be SIGKILLed),
 * "close" (GOODBYE while still holding memory), "clean" (frees everything, then GOODBYE). It prints one
 * JSON line `{"event":"holding","expected":...}` with what it holds, per type and per context, measured by
 * a processor of its own. Does nothing without the marker argument (the test runner loads every file).
 */
import { AllocationClient } from "../../src/client/allocation-client.js";
import { deviceOptions } from "../../src/client/device-description.js";
import { TrackingProcessor } from "../../src/client/tracking-processor.js";
import type { AllocationChange } from "../../src/device/change.js";
import { Device } from "../../src/device/device.js";
import { DeviceBuffer } from "../../src/device/device-buffer.js";
import { GraphTracker } from "../../src/device/graph-tracker.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { WORMHOLE_B0_N150 } from "../../src/device/presets.js";
import { API_MEMORY_TYPES } from "../../src/server/api-types.js";

export const LEAKING_CHILD_MARKER = "--allocwatch-leaking-child";

/** What the child holds when it ends: bytes per memory type name, and per context per type name. */
export interface HeldMemory {
  bytes: Record<string, number>;
  byContext: Record<string, Record<string, number>>;
  allocations: number;
}

if (process.argv[2] === LEAKING_CHILD_MARKER) {
  const socketPath = process.argv[3]!;
  const mode = process.argv[4]!;
  const device = Device.create(WORMHOLE_B0_N150, { id: 0 });
  const tracker = new GraphTracker();
  let ready: () => void = () => {};
  const welcomed = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const client = new AllocationClient({
    socketPath,
    processName: `leaky-${mode}`,
    ...deviceOptions([device]),
    onStateChange: (state) => {
      if (state === "ready") ready();
    },
  });
  tracker.addProcessor(new TrackingProcessor(client, [device]));
  // The child's own account of what it holds, context as the device names it at allocation time.
  const live = new Map<number, { type: number; size: number; context: string }>();
  tracker.addProcessor({
    process(change: AllocationChange) {
      if (change.op === 1) {
        live.set(change.allocationId, {
          type: change.memoryType,
          size: change.sizeBytes,
          context: device.currentOperation,
        });
      } else live.delete(change.allocationId);
    },
  });
  const kept: DeviceBuffer[] = [];
  const make = (memoryType: MemoryType, sizeBytes: number) =>
    DeviceBuffer.create(device, { memoryType, sizeBytes, pageSizeBytes: 1024 }, { tracker });

  // Before the connection is up: these reach the server in the first snapshot, contexts included.
  device.withOperation("ttnn.embedding", () => kept.push(make(MemoryType.DRAM, 32 * 1024)));
  // The client never keeps a process alive by itself (its socket is unref'd): hold it while waiting.
  const alive = setInterval(() => {}, 1000);
  await welcomed;
  clearInterval(alive);
  // Then as events.
  device.withOperation("ttnn.matmul", () => {
    kept.push(make(MemoryType.DRAM, 8 * 1024), make(MemoryType.L1, 2 * 1024));
    make(MemoryType.DRAM, 4 * 1024).deallocate();
  });
  device.withOperation("ttnn.conv2d", () => {
    kept.push(make(MemoryType.DRAM, 16 * 1024));
    // Nested: the innermost operation names the allocation.
    device.withOperation("ttnn.conv2d.halo", () => kept.push(make(MemoryType.L1, 1024)));
    kept.push(make(MemoryType.CB, 4 * 1024));
  });
  kept.push(make(MemoryType.DRAM, 1024)); // outside every operation: no context
  if (mode === "clean") for (const buffer of kept.splice(0)) buffer.deallocate();

  const held: HeldMemory = { bytes: {}, byContext: {}, allocations: live.size };
  for (const { type, size, context } of live.values()) {
    const name = API_MEMORY_TYPES[type]!;
    held.bytes[name] = (held.bytes[name] ?? 0) + size;
    const group = held.byContext[context] ?? {};
    group[name] = (group[name] ?? 0) + size;
    held.byContext[context] = group;
  }
  if (mode === "close" || mode === "clean") await client.close();
  else await client.flush();
  process.stdout.write(`${JSON.stringify({ event: "holding", expected: held })}\n`);
  if (mode === "kill") setInterval(() => {}, 1000);
  else process.exit(0);
}
