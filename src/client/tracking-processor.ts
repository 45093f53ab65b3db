import type { AllocationChange, AllocationProcessor, ChangeOp } from "../device/change.js";
import type { MemoryType } from "../device/memory-type.js";
import type { EventRecorder } from "./types.js";

/** What the processor reads an allocation's context from: a Device (its innermost operation). */
export interface OperationSource {
  readonly id: number;
  readonly currentOperation: string;
}

/**
 * The GraphTracker processor that feeds an AllocationClient. Synchronous on purpose: a processor that
 * returns nothing is called inline, so each change costs one record() (a typed-array write) and the
 * tracker never queues for it; with processFields, a DeviceBuffer's change reaches record() without a change
 * object being built. ChangeFields and EventFields are one order, and ChangeOp and the device
 * MemoryType use the wire's numbers (test/protocol/field-order-agreement.test.ts holds them equal), so
 * fields pass through unconverted.
 */
export class TrackingProcessor implements AllocationProcessor {
  /** Device id → the device whose operations name its allocations (sparse). */
  private readonly operationsOf: (OperationSource | undefined)[] = [];

  /**
   * `devices`: the devices whose allocations carry the operation they were made in (Device.withOperation):
   * an ALLOC of one of them is recorded with its `currentOperation` as context. The processor reads it
   * while the allocator reports the change, which the tracker does synchronously, inside the allocation.
   */
  constructor(
    private readonly client: EventRecorder,
    devices: readonly OperationSource[] = [],
  ) {
    for (const device of devices) this.operationsOf[device.id] = device;
  }

  process(change: AllocationChange): void {
    this.client.record(
      change.op,
      change.deviceId,
      change.memoryType,
      change.seq,
      change.allocationId,
      change.address,
      change.sizeBytes,
      change.timestampNs,
      change.op === 1 ? (this.operationsOf[change.deviceId]?.currentOperation ?? "") : "",
    );
  }

  /** The tracker's object-free path (ChangeFields order): the same record(), fields passed straight through. */
  processFields(
    op: ChangeOp,
    deviceId: number,
    memoryType: MemoryType,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    timestampNs: number,
  ): void {
    const context = op === 1 ? (this.operationsOf[deviceId]?.currentOperation ?? "") : "";
    this.client.record(op, deviceId, memoryType, seq, allocationId, address, sizeBytes, timestampNs, context);
  }
}
