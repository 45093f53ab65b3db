/**
 * Buffers handed from one worker thread to another, so that a share of frees happens on a thread other
 * than the allocating one. A bounded LIFO stack in a SharedArrayBuffer behind an Atomics mutex: the most
 * recently handed buffer of another worker is taken first, which keeps the time between an allocation and a
 * foreign free short — the window the seed's race lives in.
 */

import { AtomicsMutex } from "../device/allocator/lock.js";
import type { BufferTransfer } from "../device/device-buffer.js";
import type { MemoryType } from "../device/memory-type.js";

const LOCK = 0;
const COUNT = 1;
const CONTROL_WORDS = 2;
/** Fields per slot: allocationId, address, sizeBytes, pageSizeBytes, sizePerBankBytes, memoryType, deviceId, owner. */
const FIELDS = 8;

export interface HandoffHandle {
  control: SharedArrayBuffer;
  slots: SharedArrayBuffer;
  capacity: number;
}

export class HandoffStack {
  private readonly control: Int32Array;
  private readonly slots: Float64Array;
  private readonly mutex: AtomicsMutex;

  private constructor(readonly handle: HandoffHandle) {
    this.control = new Int32Array(handle.control);
    this.slots = new Float64Array(handle.slots);
    this.mutex = new AtomicsMutex(this.control, LOCK);
  }

  static create(capacity: number): HandoffStack {
    return new HandoffStack({
      control: new SharedArrayBuffer(CONTROL_WORDS * 4),
      slots: new SharedArrayBuffer(capacity * FIELDS * 8),
      capacity,
    });
  }

  static attach(handle: HandoffHandle): HandoffStack {
    return new HandoffStack(handle);
  }

  /** Push a buffer for another thread to free; false when the stack is full. */
  offer(t: BufferTransfer, ownerWorker: number): boolean {
    this.mutex.enter();
    try {
      const count = this.control[COUNT]!;
      if (count >= this.handle.capacity) return false;
      const s = this.slots;
      const o = count * FIELDS;
      s[o] = t.allocationId;
      s[o + 1] = t.address;
      s[o + 2] = t.sizeBytes;
      s[o + 3] = t.pageSizeBytes;
      s[o + 4] = t.sizePerBankBytes;
      s[o + 5] = t.memoryType;
      s[o + 6] = t.deviceId;
      s[o + 7] = ownerWorker;
      this.control[COUNT] = count + 1;
      return true;
    } finally {
      this.mutex.leave();
    }
  }

  /**
   * Take the most recently offered buffer that another worker than `worker` handed over, or undefined when
   * none is waiting.
   */
  take(worker: number): BufferTransfer | undefined {
    this.mutex.enter();
    try {
      const count = this.control[COUNT]!;
      const s = this.slots;
      let o = (count - 1) * FIELDS;
      while (o >= 0 && s[o + 7] === worker) o -= FIELDS;
      if (o < 0) return undefined;
      const transfer: BufferTransfer = {
        allocationId: s[o]!,
        address: s[o + 1]!,
        sizeBytes: s[o + 2]!,
        pageSizeBytes: s[o + 3]!,
        sizePerBankBytes: s[o + 4]!,
        memoryType: s[o + 5]! as MemoryType,
        deviceId: s[o + 6]!,
        subDeviceManagerId: undefined,
      };
      // Fill the hole with the top slot: order below the top does not matter.
      s.copyWithin(o, (count - 1) * FIELDS, count * FIELDS);
      this.control[COUNT] = count - 1;
      return transfer;
    } finally {
      this.mutex.leave();
    }
  }

  /** Buffers still waiting (they stay live in the allocator). */
  size(): number {
    return Atomics.load(this.control, COUNT);
  }
}
