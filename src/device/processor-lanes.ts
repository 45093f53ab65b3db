import type { AllocationChange, AllocationProcessor, ChangeOp } from "./change.js";
import type { MemoryType } from "./memory-type.js";

/** What the lanes count (a GraphTracker passes its own counters). */
export interface LaneCounters {
  /** Processor calls that threw or rejected. */
  processorErrors: number;
  /** Changes dropped because an asynchronous processor's queue was full. */
  processorDrops: number;
}

/** One processor with its own queue: an asynchronous processor holds back only itself. */
class ProcessorLane {
  private readonly queue: AllocationChange[] = [];
  private head = 0;
  busy = false;
  /** The processor takes fields (processFields): synchronous, never queued. Decided once, here. */
  readonly takesFields: boolean;

  constructor(
    readonly processor: AllocationProcessor,
    private readonly lanes: ProcessorLanes,
    private readonly counters: LaneCounters,
    private readonly maxQueued: number,
  ) {
    this.takesFields = typeof processor.processFields === "function";
  }

  // Parameters in ChangeFields order (plain parameters: a rest tuple would allocate per change).
  offerFields(
    op: ChangeOp,
    deviceId: number,
    memoryType: MemoryType,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    timestampNs: number,
  ): void {
    try {
      this.processor.processFields!(
        op,
        deviceId,
        memoryType,
        seq,
        allocationId,
        address,
        sizeBytes,
        timestampNs,
      );
    } catch {
      this.counters.processorErrors++;
    }
  }

  offer(change: AllocationChange): void {
    if (this.takesFields) {
      this.offerFields(
        change.op,
        change.deviceId,
        change.memoryType,
        change.seq,
        change.allocationId,
        change.address,
        change.sizeBytes,
        change.timestampNs,
      );
      return;
    }
    if (!this.busy) {
      this.run(change);
      return;
    }
    if (this.queue.length - this.head >= this.maxQueued) {
      this.counters.processorDrops++;
      return;
    }
    this.queue.push(change);
  }

  get idle(): boolean {
    return !this.busy && this.head === this.queue.length;
  }

  private run(change: AllocationChange): void {
    let result: void | Promise<void>;
    try {
      result = this.processor.process(change);
    } catch {
      this.counters.processorErrors++;
      return;
    }
    if (result !== undefined && typeof (result as Promise<void>).then === "function") {
      this.busy = true;
      (result as Promise<void>).then(
        () => this.settled(),
        () => {
          this.counters.processorErrors++;
          this.settled();
        },
      );
    }
  }

  private settled(): void {
    this.busy = false;
    while (!this.busy && this.head < this.queue.length) {
      const next = this.queue[this.head]!;
      this.queue[this.head] = undefined as unknown as AllocationChange;
      this.head++;
      this.run(next);
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    if (this.idle) this.lanes.laneIdle();
  }
}

/**
 * The processors of a GraphTracker, one lane each, and the delivery of released changes to them. A
 * processor that throws or rejects is isolated (counted, never thrown into the workload); an
 * asynchronous one gets its changes one at a time, in order, from its own bounded queue.
 */
export class ProcessorLanes {
  /** Every lane takes fields (true with no lanes): a change given as fields then needs no change object. */
  fieldsOnly = true;
  /** Replaced, never changed in place, so a delivery loop in progress keeps the lanes it started with. */
  private lanes: ProcessorLane[] = [];
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly counters: LaneCounters,
    /** Most changes queued for one asynchronous processor; beyond it changes are dropped and counted. */
    private readonly maxQueued: number,
  ) {}

  add(processor: AllocationProcessor): void {
    this.lanes = [...this.lanes, new ProcessorLane(processor, this, this.counters, this.maxQueued)];
    this.fieldsOnly = this.lanes.every((lane) => lane.takesFields);
  }

  /** Removes a processor; changes queued for it are discarded. Returns false if it was not added. */
  remove(processor: AllocationProcessor): boolean {
    const kept = this.lanes.filter((lane) => lane.processor !== processor);
    const removed = kept.length !== this.lanes.length;
    this.lanes = kept;
    this.fieldsOnly = kept.every((lane) => lane.takesFields);
    if (removed) this.laneIdle();
    return removed;
  }

  /** Resolves when no asynchronous processor has a change in flight or queued. */
  whenIdle(): Promise<void> {
    if (this.lanes.every((lane) => lane.idle)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Deliver one released change to every processor. */
  offer(change: AllocationChange): void {
    const lanes = this.lanes;
    for (let i = 0; i < lanes.length; i++) lanes[i]!.offer(change);
  }

  /** Deliver one released change given as fields; only when `fieldsOnly`. */
  // Parameters in ChangeFields order (plain parameters: a rest tuple would allocate per change).
  offerFields(
    op: ChangeOp,
    deviceId: number,
    memoryType: MemoryType,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    timestampNs: number,
  ): void {
    const lanes = this.lanes;
    for (let i = 0; i < lanes.length; i++) {
      lanes[i]!.offerFields(op, deviceId, memoryType, seq, allocationId, address, sizeBytes, timestampNs);
    }
  }

  /** @internal called by a lane that drained its queue. */
  laneIdle(): void {
    if (this.idleWaiters.length === 0 || !this.lanes.every((lane) => lane.idle)) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
