// A race worker's report channel packs the change fields in their usual order (op, deviceId, memoryType,
// seq, allocationId, address, sizeBytes, then the bank extent) and decodes them back unchanged.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ChangeOp } from "../../src/device/change.js";
import { MemoryType } from "../../src/device/memory-type.js";
import type { ReplayEvent } from "../../src/race/replay.js";
import { decodeReports, RECORD_FIELDS, ReportChannel } from "../../src/race/report-channel.js";

test("records are packed in the canonical field order, batched, and decoded back", () => {
  const batches: Float64Array[] = [];
  const channel = new ReportChannel((records) => batches.push(records), 2);
  channel.report(ChangeOp.ALLOC, 3, MemoryType.L1, 7, 11, 0x1000, 4096, 256);
  channel.report(ChangeOp.FREE, 3, MemoryType.L1, 8, 11, 0x1000, 4096, 256);
  channel.report(ChangeOp.ALLOC, 4, MemoryType.DRAM, 1, 1, 0x40, 64, 64);
  assert.equal(batches.length, 1, "a full batch is sent at once");
  channel.flush();
  assert.equal(batches.length, 2);
  assert.deepEqual(
    [...batches[0]!.subarray(0, RECORD_FIELDS)],
    [ChangeOp.ALLOC, 3, MemoryType.L1, 7, 11, 0x1000, 4096, 256],
  );
  assert.equal(batches[1]!.length, RECORD_FIELDS, "a partial batch is cut to its records");

  const events: ReplayEvent[] = [];
  for (const batch of batches) decodeReports(batch, 5, events);
  assert.deepEqual(events[2], {
    op: ChangeOp.ALLOC,
    processId: 5,
    deviceId: 4,
    memoryType: MemoryType.DRAM,
    seq: 1,
    allocationId: 1,
    address: 0x40,
    sizeBytes: 64,
    sizePerBankBytes: 64,
  });
  assert.deepEqual(
    events.map((e) => [e.op, e.seq]),
    [
      [ChangeOp.ALLOC, 7],
      [ChangeOp.FREE, 8],
      [ChangeOp.ALLOC, 1],
    ],
  );
});
