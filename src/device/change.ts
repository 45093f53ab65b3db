import type { MemoryType } from "./memory-type.js";

/**
 * Kind of allocator state change: the protocol's EventOp, names and numbers (the layers keep separate
 * tables because neither imports the other; test/protocol/field-order-agreement.test.ts holds them equal).
 */
export const ChangeOp = {
  ALLOC: 1,
  FREE: 2,
} as const;
export type ChangeOp = (typeof ChangeOp)[keyof typeof ChangeOp];

/**
 * One state change of a device's allocator, stamped inside the allocator's critical section.
 * This is what GraphTracker processors receive, in `seq` order per device.
 */
export interface AllocationChange {
  op: ChangeOp;
  deviceId: number;
  memoryType: MemoryType;
  /** Per-device sequence number (1, 2, 3 ...), taken under the allocator lock. */
  seq: number;
  /** Unique within (process, device); the identity of the allocation. */
  allocationId: number;
  /** Address (per-bank offset for banked memory), bytes. Reused after a free. */
  address: number;
  /** Total bytes across all banks. */
  sizeBytes: number;
  /** Monotonic ns from the device's injected clock. */
  timestampNs: number;
}

/**
 * An AllocationChange as arguments, in the one order every object-free path passes a change (processors,
 * lanes, the client's record, the protocol's encoder as EventFields, the race report channel). Hot paths
 * take these as plain parameters (a rest parameter would allocate an array per change), so their
 * interfaces are typed with this tuple and implementations list the parameters in this order.
 */
export type ChangeFields = [
  op: ChangeOp,
  deviceId: number,
  memoryType: MemoryType,
  seq: number,
  allocationId: number,
  address: number,
  sizeBytes: number,
  timestampNs: number,
];

/**
 * Receives allocator changes from a GraphTracker, in sequence order per device. If `process` returns a
 * promise, the tracker delivers that processor's next change only after it settles. A processor that
 * throws or rejects is isolated: the workload never sees the error (the tracker counts it).
 */
export interface AllocationProcessor {
  process(change: AllocationChange): void | Promise<void>;
  /**
   * Optional synchronous form of `process` that takes the change's fields as arguments. When a processor
   * has it, the tracker calls it instead of `process` for every change, and the allocation path need not
   * build a change object for it (that allocation was a measurable part of the cost of tracking).
   */
  processFields?(...change: ChangeFields): void;
}
