import type { AllocationChange, AllocationProcessor, ChangeOp } from "./change.js";
import { HookedDeallocationError, InvalidDeviceOptionsError } from "./errors.js";
import { type LifecycleLock, LifecycleLocks } from "./lifecycle-lock.js";
import type { MemoryType } from "./memory-type.js";
import { ProcessorLanes } from "./processor-lanes.js";

/**
 * What a capture hook is told about a buffer (tt-metal's IGraphHooks receives the Buffer itself;
 * this is the part of it that a capture needs).
 */
export interface HookedBuffer {
  readonly deviceId: number;
  readonly memoryType: number;
  readonly sizeBytes: number;
  readonly pageSizeBytes: number;
}

/**
 * Capture mode (tt-metal's IGraphHooks). When the top hook of the stack claims an allocation, the buffer
 * gets address 0, no device memory, no allocation id and no sequence number: nothing happened to the
 * allocator, so no processor hears about it. A hook may only claim the deallocation of a buffer whose
 * allocation it (or an earlier hook) claimed.
 */
export interface GraphHooks {
  hookAllocate(buffer: HookedBuffer): boolean;
  hookDeallocate(buffer: HookedBuffer): boolean;
}

/** How a device's changes reach this tracker. */
export type DeviceSequencing =
  /** Every change of the device is tracked here (a device used by one realm): gaps are waited for. */
  | { kind: "dense"; nextSeq: number }
  /**
   * Other realms change the device too (a device shared by worker threads): this tracker sees an
   * increasing subsequence, so gaps are expected and nothing is held.
   */
  | { kind: "sparse" };

export interface GraphTrackerOptions {
  /**
   * Most changes held per device while waiting for a missing sequence number. When exceeded, the oldest
   * gap is given up (counted in `gapsSkipped`) so memory stays bounded. Default 65536.
   */
  maxHeldPerDevice?: number;
  /** Most changes queued for one asynchronous processor; beyond it changes are dropped and counted. Default 65536. */
  maxQueuedPerProcessor?: number;
  /** Lock factory for a device's lifecycle (see LifecycleLock). Default: an in-realm lock. */
  lifecycleLock?: (deviceId: number) => LifecycleLock;
}

/** Counters of a tracker since it was created. All are counts of changes or events. */
export interface GraphTrackerCounters {
  /** Changes passed to `track`. */
  tracked: number;
  /** Changes released from the reorder stage to the processors. */
  released: number;
  /** Changes currently held in reorder stages. */
  held: number;
  /** Gaps given up because a reorder stage was full. */
  gapsSkipped: number;
  /** Changes that arrived after their number had already been passed (delivered anyway). */
  lateChanges: number;
  /** Changes whose number was already held (the second copy is dropped). */
  duplicateChanges: number;
  /** Processor calls that threw or rejected. */
  processorErrors: number;
  /** Changes dropped because an asynchronous processor's queue was full. */
  processorDrops: number;
}

const DEFAULT_MAX_HELD = 65536;
const DEFAULT_MAX_QUEUED = 65536;

/** Per-device reorder stage: releases changes in sequence order. */
class DeviceOrder {
  nextSeq = 1;
  sparse = false;
  readonly held = new Map<number, AllocationChange>();
}

/**
 * Fans a device's allocator changes out to processors, in sequence order per device, and consults the
 * capture hook stack. Inject an instance where you can; `defaultGraphTracker` is the process-wide one.
 * Tracking never throws into the workload: processor failures are counted (ProcessorLanes delivers and
 * isolates; LifecycleLocks holds each device's lifecycle lock).
 */
export class GraphTracker {
  readonly counters: GraphTrackerCounters = {
    tracked: 0,
    released: 0,
    held: 0,
    gapsSkipped: 0,
    lateChanges: 0,
    duplicateChanges: 0,
    processorErrors: 0,
    processorDrops: 0,
  };

  private readonly hooks: GraphHooks[] = [];
  private readonly hooked = new WeakSet<object>();
  private readonly lanes: ProcessorLanes;
  private readonly orders = new Map<number, DeviceOrder>();
  /** The device of the latest lookup and its order: most workloads track one device at a time. */
  private recentDeviceId = Number.NaN;
  private recentOrder: DeviceOrder | undefined;
  private readonly locks: LifecycleLocks;
  private readonly maxHeld: number;

  constructor(options: GraphTrackerOptions = {}) {
    this.maxHeld = positiveInteger(options.maxHeldPerDevice, DEFAULT_MAX_HELD, "maxHeldPerDevice");
    const maxQueued = positiveInteger(
      options.maxQueuedPerProcessor,
      DEFAULT_MAX_QUEUED,
      "maxQueuedPerProcessor",
    );
    this.lanes = new ProcessorLanes(this.counters, maxQueued);
    this.locks = new LifecycleLocks(options.lifecycleLock);
  }

  // ---- capture hooks ----------------------------------------------------------------------------

  pushHook(hooks: GraphHooks): void {
    this.hooks.push(hooks);
  }

  popHook(): GraphHooks | undefined {
    return this.hooks.pop();
  }

  /** True when the top hook captures this allocation (the buffer then gets no memory). */
  hookAllocate(buffer: HookedBuffer): boolean {
    // Length first: reading index -1 of an empty array is a slow named-property lookup on every buffer.
    const top = this.hooks.length - 1;
    if (top < 0 || !this.hooks[top]!.hookAllocate(buffer)) return false;
    this.hooked.add(buffer);
    return true;
  }

  /**
   * True when the top hook captures this deallocation. Throws HookedDeallocationError (before anything
   * changed) when a hook claims the deallocation of a buffer that owns real memory: honouring it would
   * leak that memory in the allocator.
   */
  hookDeallocate(buffer: HookedBuffer): boolean {
    const top = this.hooks.length - 1;
    if (top < 0 || !this.hooks[top]!.hookDeallocate(buffer)) return false;
    if (!this.hooked.delete(buffer)) throw new HookedDeallocationError(buffer.deviceId);
    return true;
  }

  // ---- processors ---------------------------------------------------------------------------------

  addProcessor(processor: AllocationProcessor): void {
    this.lanes.add(processor);
  }

  /** Removes a processor; changes queued for it are discarded. Returns false if it was not added. */
  removeProcessor(processor: AllocationProcessor): boolean {
    return this.lanes.remove(processor);
  }

  /** Resolves when no asynchronous processor has a change in flight or queued. */
  whenIdle(): Promise<void> {
    return this.lanes.whenIdle();
  }

  // ---- sequencing ---------------------------------------------------------------------------------

  /**
   * Tell the tracker how a device's changes reach it. Without this a device is "dense" starting at
   * sequence number 1. Call it before the device's first tracked change when the device already changed
   * before this tracker saw it (dense from the allocator's next number) or when other realms share it.
   */
  observeDevice(deviceId: number, sequencing: DeviceSequencing): void {
    const order = this.orderOf(deviceId);
    if (sequencing.kind === "sparse") {
      order.sparse = true;
      this.flush(deviceId);
      return;
    }
    order.sparse = false;
    order.nextSeq = sequencing.nextSeq;
    this.drain(order);
  }

  /** True once the tracker has been told about or seen a change of this device. */
  knowsDevice(deviceId: number): boolean {
    return deviceId === this.recentDeviceId || this.orders.has(deviceId);
  }

  /**
   * Report one allocator change. Released to every processor in sequence order per device: a change that
   * arrives before a lower number of its device waits in that device's reorder stage.
   */
  track(change: AllocationChange): void {
    this.counters.tracked++;
    const order = this.orderOf(change.deviceId);
    if (order.sparse) {
      if (change.seq < order.nextSeq) this.counters.lateChanges++;
      else order.nextSeq = change.seq + 1;
      this.release(change);
      return;
    }
    if (change.seq === order.nextSeq) {
      // The common case (a synchronous lifecycle step): nothing held, nothing to drain.
      order.nextSeq++;
      this.release(change);
      if (order.held.size !== 0) this.drain(order);
    } else if (change.seq < order.nextSeq) {
      this.counters.lateChanges++;
      this.release(change);
    } else if (order.held.has(change.seq)) {
      this.counters.duplicateChanges++;
    } else {
      order.held.set(change.seq, change);
      this.counters.held++;
      if (order.held.size > this.maxHeld) {
        order.nextSeq = lowestKey(order.held);
        this.counters.gapsSkipped++;
        this.drain(order);
      }
    }
  }

  /**
   * `track` for a change given as fields (what a DeviceBuffer reports). When the change is next in its
   * device's order and every processor takes fields, it goes straight to them and no change object is
   * built; otherwise it takes the general path.
   */
  // Parameters in ChangeFields order (plain parameters: a rest tuple would allocate per change).
  trackFields(
    op: ChangeOp,
    deviceId: number,
    memoryType: MemoryType,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    timestampNs: number,
  ): void {
    const order = this.orderOf(deviceId);
    const lanes = this.lanes;
    if (
      lanes.fieldsOnly &&
      (order.sparse ? seq >= order.nextSeq : seq === order.nextSeq && order.held.size === 0)
    ) {
      this.counters.tracked++;
      this.counters.released++;
      order.nextSeq = seq + 1;
      lanes.offerFields(op, deviceId, memoryType, seq, allocationId, address, sizeBytes, timestampNs);
      return;
    }
    this.track({ op, deviceId, memoryType, seq, allocationId, address, sizeBytes, timestampNs });
  }

  /** Give up every gap of a device: release its held changes in order now. */
  flush(deviceId: number): void {
    const order = this.orders.get(deviceId);
    if (order === undefined) return;
    while (order.held.size > 0) {
      order.nextSeq = lowestKey(order.held);
      this.counters.gapsSkipped++;
      this.drain(order);
    }
  }

  /** Changes of a device waiting for a missing number. */
  heldCount(deviceId: number): number {
    return this.orders.get(deviceId)?.held.size ?? 0;
  }

  // ---- lifecycle lock ------------------------------------------------------------------------------

  /** Run one lifecycle step of a device (allocation through report, or release through report) under its lock. */
  withLifecycleLock<T>(deviceId: number, step: () => T): T {
    const lock = this.lifecycleLock(deviceId);
    lock.enter();
    try {
      return step();
    } finally {
      lock.leave();
    }
  }

  /**
   * The lifecycle lock of a device, for callers on the allocation path that enter and leave it
   * themselves (no closure per step). Always leave it in a `finally`.
   */
  lifecycleLock(deviceId: number): LifecycleLock {
    return this.locks.of(deviceId);
  }

  private orderOf(deviceId: number): DeviceOrder {
    if (deviceId === this.recentDeviceId) return this.recentOrder!;
    let order = this.orders.get(deviceId);
    if (order === undefined) {
      order = new DeviceOrder();
      this.orders.set(deviceId, order);
    }
    this.recentDeviceId = deviceId;
    this.recentOrder = order;
    return order;
  }

  private drain(order: DeviceOrder): void {
    for (;;) {
      const next = order.held.get(order.nextSeq);
      if (next === undefined) return;
      order.held.delete(order.nextSeq);
      this.counters.held--;
      order.nextSeq++;
      this.release(next);
    }
  }

  private release(change: AllocationChange): void {
    this.counters.released++;
    this.lanes.offer(change);
  }
}

function lowestKey(map: Map<number, unknown>): number {
  let lowest = Number.POSITIVE_INFINITY;
  for (const key of map.keys()) if (key < lowest) lowest = key;
  return lowest;
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidDeviceOptionsError(
      `GraphTracker option ${name} must be a positive integer, got ${value}`,
    );
  }
  return value;
}

/** The process-wide tracker, for code that cannot be handed one (as tt-metal's GraphTracker::instance()). */
export const defaultGraphTracker = new GraphTracker();
