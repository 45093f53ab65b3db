/**
 * One worker's report channel: records are batched in a Float64Array and sent as a whole, like a client
 * that batches its reports on its own connection. Batches of different workers reach the collector in
 * whatever order the threads run, which is exactly how reports on per-thread connections interleave.
 */
import type { ChangeOp } from "../device/change.js";
import type { MemoryType } from "../device/memory-type.js";
import type { ReplayEvent } from "./replay.js";

/**
 * Fields per record: an AllocationChange's fields in ChangeFields order (src/device/change.ts),
 * with the bank extent where the change has its timestamp (the replay needs no time):
 * op, deviceId, memoryType, seq, allocationId, address, sizeBytes, sizePerBankBytes.
 */
export const RECORD_FIELDS = 8;

export class ReportChannel {
  private batch: Float64Array;
  private used = 0;

  constructor(
    private readonly send: (records: Float64Array) => void,
    private readonly recordsPerBatch: number,
  ) {
    this.batch = new Float64Array(recordsPerBatch * RECORD_FIELDS);
  }

  // Plain parameters in ChangeFields order (sizePerBankBytes in the timestamp's place): no object per report.
  report(
    op: ChangeOp,
    deviceId: number,
    memoryType: MemoryType,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    sizePerBankBytes: number,
  ): void {
    const b = this.batch;
    const o = this.used * RECORD_FIELDS;
    b[o] = op;
    b[o + 1] = deviceId;
    b[o + 2] = memoryType;
    b[o + 3] = seq;
    b[o + 4] = allocationId;
    b[o + 5] = address;
    b[o + 6] = sizeBytes;
    b[o + 7] = sizePerBankBytes;
    if (++this.used === this.recordsPerBatch) this.flush();
  }

  flush(): void {
    if (this.used === 0) return;
    const full = this.batch;
    const records = this.used === this.recordsPerBatch ? full : full.slice(0, this.used * RECORD_FIELDS);
    this.batch = new Float64Array(this.recordsPerBatch * RECORD_FIELDS);
    this.used = 0;
    this.send(records);
  }
}

/** Decode a batch into replay events, appending to `out`. */
export function decodeReports(records: Float64Array, processId: number, out: ReplayEvent[]): void {
  for (let o = 0; o + RECORD_FIELDS <= records.length; o += RECORD_FIELDS) {
    out.push({
      op: records[o]! as ChangeOp,
      processId,
      deviceId: records[o + 1]!,
      memoryType: records[o + 2]! as MemoryType,
      seq: records[o + 3]!,
      allocationId: records[o + 4]!,
      address: records[o + 5]!,
      sizeBytes: records[o + 6]!,
      sizePerBankBytes: records[o + 7]!,
    });
  }
}
