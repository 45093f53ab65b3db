import type { MemoryType } from "./memory-type.js";

/** What happened to an allocation. The number is what travels on the wire. */
export const EventOp = {
  ALLOC: 1,
  FREE: 2,
} as const;
export type EventOp = (typeof EventOp)[keyof typeof EventOp];

/**
 * One state change of a device allocator, as the runtime reports it and the server applies it.
 *
 * Identity is (session, deviceId, allocationId); the address is a reusable attribute.
 * `seq` is taken inside the allocator's critical section: it totally orders the state changes of one
 * device within one process (one sequence domain per (process, device)), starting at 1.
 * All numbers are non-negative integers below 2^53.
 */
export interface AllocationEvent {
  op: EventOp;
  deviceId: number;
  memoryType: MemoryType;
  /** Per-(process, device) sequence number, taken under the allocator lock. First change is 1. */
  seq: number;
  /** Unique within (process, device); never reused by that process. */
  allocationId: number;
  /** Device address (per-bank offset for banked memory), bytes. */
  address: number;
  /** Total size of the allocation across all banks, bytes. A FREE carries the size it frees. */
  sizeBytes: number;
  /** Monotonic time of the change, ns since the reporting process's session started. */
  timestampNs: number;
  /**
   * Version 3 (encoders only; readEventRecord leaves it alone): an ALLOC's allocation context, defined by
   * a CONTEXT frame; 0 or absent = none.
   */
  contextId?: number;
}

/**
 * An AllocationEvent as arguments, in the order of its record on the wire (docs/PROTOCOL.md) and of the
 * device model's ChangeFields. The encoder and the client's record() take these as plain parameters in
 * this order (a rest parameter would allocate an array per event).
 */
export type EventFields = [
  op: EventOp,
  deviceId: number,
  memoryType: MemoryType,
  seq: number,
  allocationId: number,
  address: number,
  sizeBytes: number,
  timestampNs: number,
];

/** One live allocation as a snapshot states it. */
export interface LiveAllocation {
  allocationId: number;
  memoryType: MemoryType;
  address: number;
  sizeBytes: number;
  /** Version 3: the allocation context the client defined for it (CONTEXT frame); 0 or absent = none. */
  contextId?: number;
}
