/**
 * The concurrent workload one worker thread runs against a shared device, in one of two reporting modes.
 * Both modes make the same random choices from the same seed and spend the same randomised delay between
 * an allocator change and its report; only the reporting protocol differs.
 *
 * - "naive": the original tt-metal order. ALLOC is reported after the allocator released its lock,
 *   identified by address; FREE is reported (by address, size 0) and then the memory is released.
 * - "ordered": allocwatch. Buffers go through DeviceBuffer and a GraphTracker; every report carries the sequence
 *   number the allocator took inside its critical section and the allocation id.
 *
 * The delay is the window real runtimes have between choosing an address and reporting it (logging,
 * Python, a busy channel). It widens the race so a 2-core machine shows it as a 64-core one would.
 */

import type { AllocationChange } from "../device/change.js";
import { ChangeOp } from "../device/change.js";
import type { Device } from "../device/device.js";
import { type BufferTransfer, DeviceBuffer } from "../device/device-buffer.js";
import { GraphTracker } from "../device/graph-tracker.js";
import type { MemoryType } from "../device/memory-type.js";
import type { HandoffStack } from "./handoff.js";
import { SeededRandom } from "./random.js";
import type { ReportChannel } from "./report-channel.js";

export type ReportingMode = "naive" | "ordered";

export interface WorkloadParams {
  mode: ReportingMode;
  /** This worker's index (0-based): handed-over buffers are freed by other workers. */
  workerIndex: number;
  /** Allocator changes (allocations + frees) this worker performs. */
  operations: number;
  seed: number;
  memoryType: MemoryType;
  pageSizeBytes: number;
  /** Largest buffer, in pages (sizes are 1..maxPages pages). */
  maxPages: number;
  /** Buffers a worker keeps before it must free one. */
  maxLive: number;
  /** Share of new buffers handed to the shared stack for some thread to free (0..1). */
  handoffShare: number;
  /** Share of frees that take a handed-over buffer rather than one of the worker's own (0..1). */
  foreignFreeShare: number;
  /** Largest delay between a change and its report, in spin-loop iterations. */
  maxDelaySpins: number;
  /** Call `progress` every this many operations. */
  progressEvery: number;
}

export interface WorkloadCounts {
  allocations: number;
  frees: number;
  /** Frees of buffers another worker allocated. */
  foreignFrees: number;
  handedOff: number;
}

/** Something that owns one allocation and can release it the mode's way. */
interface Held {
  free(delaySpins: number): void;
  handOff(): BufferTransfer;
}

let spinSink = 0;
/** Deterministic busy work (no timers: the window must not depend on the event loop). */
function spin(iterations: number): void {
  let x = spinSink | 1;
  for (let i = 0; i < iterations; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  spinSink = x;
}

export function runWorkload(
  device: Device,
  channel: ReportChannel,
  handoff: HandoffStack,
  params: WorkloadParams,
  progress: (operationsDone: number) => void,
): WorkloadCounts {
  const rng = new SeededRandom(params.seed);
  const counts: WorkloadCounts = { allocations: 0, frees: 0, foreignFrees: 0, handedOff: 0 };
  const live: Held[] = [];
  const reporting =
    params.mode === "naive" ? naiveReporting(device, channel) : orderedReporting(device, channel);

  for (let op = 0; op < params.operations; op++) {
    if (op % params.progressEvery === 0 && op > 0) progress(op);
    const delaySpins = rng.int(params.maxDelaySpins + 1);
    const wantsFree = live.length >= params.maxLive || rng.next() < 0.5;
    const foreign = rng.next() < params.foreignFreeShare;
    const pick = rng.next();
    const pages = 1 + rng.int(params.maxPages);
    const handOff = rng.next() < params.handoffShare;

    if (wantsFree) {
      const taken = foreign ? handoff.take(params.workerIndex) : undefined;
      if (taken !== undefined) {
        counts.foreignFrees++;
        reporting.adopt(taken).free(delaySpins);
        counts.frees++;
        continue;
      }
      if (live.length > 0) {
        const index = Math.floor(pick * live.length);
        const held = live[index]!;
        live[index] = live[live.length - 1]!;
        live.pop();
        held.free(delaySpins);
        counts.frees++;
        continue;
      }
    }
    const held = reporting.allocate(
      params.memoryType,
      pages * params.pageSizeBytes,
      params.pageSizeBytes,
      delaySpins,
    );
    counts.allocations++;
    if (handOff) {
      const transfer = held.handOff();
      if (handoff.offer(transfer, params.workerIndex)) {
        counts.handedOff++;
        continue;
      }
      live.push(reporting.adopt(transfer));
      continue;
    }
    live.push(held);
  }
  progress(params.operations);
  channel.flush();
  return counts;
}

interface Reporting {
  allocate(memoryType: MemoryType, sizeBytes: number, pageSizeBytes: number, delaySpins: number): Held;
  adopt(transfer: BufferTransfer): Held;
}

/** The original's protocol, over the allocator directly (as tt-metal's DeviceBuffer + GraphTracker did). */
function naiveReporting(device: Device, channel: ReportChannel): Reporting {
  const allocator = device.allocator;
  const held = (t: BufferTransfer): Held => ({
    free(delaySpins) {
      spin(delaySpins);
      // FREE by address, size 0, sent before the memory is released (DeviceBuffer::deallocate_impl's order).
      channel.report(ChangeOp.FREE, device.id, t.memoryType, 0, 0, t.address, 0, t.sizePerBankBytes);
      allocator.deallocate(t.memoryType, t.address);
    },
    handOff: () => t,
  });
  return {
    allocate(memoryType, sizeBytes, pageSizeBytes, delaySpins) {
      const a = allocator.allocate({ memoryType, sizeBytes, pageSizeBytes });
      // The allocator lock is released: the report leaves after the window.
      spin(delaySpins);
      channel.report(
        ChangeOp.ALLOC,
        device.id,
        memoryType,
        0,
        a.allocationId,
        a.address,
        a.sizeBytes,
        a.sizePerBankBytes,
      );
      return held({
        deviceId: device.id,
        memoryType,
        sizeBytes,
        pageSizeBytes,
        address: a.address,
        allocationId: a.allocationId,
        sizePerBankBytes: a.sizePerBankBytes,
        subDeviceManagerId: undefined,
      });
    },
    adopt: held,
  };
}

/** allocwatch's protocol: DeviceBuffer + GraphTracker, reports carry seq and allocation id. */
function orderedReporting(device: Device, channel: ReportChannel): Reporting {
  const tracker = new GraphTracker();
  let pendingDelay = 0;
  let captured: AllocationChange | undefined;
  tracker.addProcessor({
    process(change) {
      spin(pendingDelay);
      captured = change;
    },
  });
  const send = (sizePerBankBytes: number): void => {
    const c = captured!;
    captured = undefined;
    channel.report(
      c.op,
      c.deviceId,
      c.memoryType,
      c.seq,
      c.allocationId,
      c.address,
      c.sizeBytes,
      sizePerBankBytes,
    );
  };
  const held = (buffer: DeviceBuffer): Held => ({
    free(delaySpins) {
      pendingDelay = delaySpins;
      const sizePerBank = buffer.sizePerBankBytes;
      buffer.deallocate();
      send(sizePerBank);
    },
    handOff: () => buffer.transfer(),
  });
  return {
    allocate(memoryType, sizeBytes, pageSizeBytes, delaySpins) {
      pendingDelay = delaySpins;
      const buffer = DeviceBuffer.create(device, { memoryType, sizeBytes, pageSizeBytes }, { tracker });
      send(buffer.sizePerBankBytes);
      return held(buffer);
    },
    adopt: (transfer) => held(DeviceBuffer.adopt(device, transfer, { tracker })),
  };
}
