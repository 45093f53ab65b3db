/**
 * A report log in shared memory that worker threads append to and the main thread reads while they run.
 * With a lock it is the "fifo" channel (one channel for the process: appends are serialised, so the log's
 * order is the order of the report calls); without one it is one thread's queue of the "async-queue"
 * channel (single producer, drained by the main thread). Records are report-channel.ts's.
 */
import { AtomicsMutex } from "../device/allocator/lock.js";
import type { ChangeOp } from "../device/change.js";
import type { MemoryType } from "../device/memory-type.js";
import { RECORD_FIELDS } from "./report-channel.js";

const LOCK = 0;
const COUNT = 1;
const DROPPED = 2;
const CONTROL_WORDS = 3;

export interface ReportLogHandle {
  control: SharedArrayBuffer;
  records: SharedArrayBuffer;
  capacity: number;
  locked: boolean;
}

export class SharedReportLog {
  private readonly control: Int32Array;
  private readonly records: Float64Array;
  private readonly mutex: AtomicsMutex | undefined;

  private constructor(readonly handle: ReportLogHandle) {
    this.control = new Int32Array(handle.control);
    this.records = new Float64Array(handle.records);
    this.mutex = handle.locked ? new AtomicsMutex(this.control, LOCK) : undefined;
  }

  /**
   * A log of at most `capacity` records (the caller sizes it for its whole run: reports beyond it are
   * dropped and counted, never waited for).
   */
  static create(capacity: number, locked: boolean): SharedReportLog {
    return new SharedReportLog({
      control: new SharedArrayBuffer(CONTROL_WORDS * 4),
      records: new SharedArrayBuffer(capacity * RECORD_FIELDS * 8),
      capacity,
      locked,
    });
  }

  static attach(handle: ReportLogHandle): SharedReportLog {
    return new SharedReportLog(handle);
  }

  append(
    op: ChangeOp,
    deviceId: number,
    memoryType: MemoryType,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    sizePerBankBytes: number,
  ): void {
    this.mutex?.enter();
    const count = this.control[COUNT]!;
    if (count >= this.handle.capacity) {
      Atomics.add(this.control, DROPPED, 1);
      this.mutex?.leave();
      return;
    }
    const r = this.records;
    const o = count * RECORD_FIELDS;
    r[o] = op;
    r[o + 1] = deviceId;
    r[o + 2] = memoryType;
    r[o + 3] = seq;
    r[o + 4] = allocationId;
    r[o + 5] = address;
    r[o + 6] = sizeBytes;
    r[o + 7] = sizePerBankBytes;
    // The store publishes the record to the reader (Atomics order the plain writes before it).
    Atomics.store(this.control, COUNT, count + 1);
    this.mutex?.leave();
  }

  /** Records appended so far. */
  count(): number {
    return Atomics.load(this.control, COUNT);
  }

  dropped(): number {
    return Atomics.load(this.control, DROPPED);
  }

  /** Records [from, to) as one batch (a copy). */
  read(from: number, to: number): Float64Array {
    return this.records.slice(from * RECORD_FIELDS, to * RECORD_FIELDS);
  }
}
