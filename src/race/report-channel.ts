/**
 * One worker's report channel: records are batched in a Float64Array and sent as a whole, like a client
 * that batches its reports on its own connection. Batches of different workers reach the collector in
 * whatever order the threads run, which is exactly how reports on per-thread connections interleave.
 */
import type { ChangeOp } from "../device/change.js";
import type { MemoryType } from "../device/memory-type.js";
import type { ReplayEvent } from "./replay.js";

/** Fields per record: op, seq, allocationId, address, sizeBytes, sizePerBankBytes, memoryType, deviceId. */
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

  report(
    op: ChangeOp,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    sizePerBankBytes: number,
    memoryType: MemoryType,
    deviceId: number,
  ): void {
    const b = this.batch;
    const o = this.used * RECORD_FIELDS;
    b[o] = op;
    b[o + 1] = seq;
    b[o + 2] = allocationId;
    b[o + 3] = address;
    b[o + 4] = sizeBytes;
    b[o + 5] = sizePerBankBytes;
    b[o + 6] = memoryType;
    b[o + 7] = deviceId;
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
      seq: records[o + 1]!,
      allocationId: records[o + 2]!,
      address: records[o + 3]!,
      sizeBytes: records[o + 4]!,
      sizePerBankBytes: records[o + 5]!,
      memoryType: records[o + 6]! as MemoryType,
      deviceId: records[o + 7]!,
    });
  }
}
