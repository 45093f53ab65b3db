import type { AllocationChange, AllocationProcessor } from "../device/change.js";
import type { AllocationClient } from "./allocation-client.js";

/**
 * The GraphTracker processor that feeds an AllocationClient. Synchronous on purpose: a processor that
 * returns nothing is called inline, so each change costs one record() (a typed-array write) and the
 * tracker never queues for it. ChangeOp and the device MemoryType use the wire's numbers (a protocol
 * test holds the tables equal), so fields pass through unconverted.
 */
export class TrackingProcessor implements AllocationProcessor {
  constructor(private readonly client: Pick<AllocationClient, "record">) {}

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
    );
  }
}
