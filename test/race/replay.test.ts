// The replay finds each kind of anomaly, in the mode where it can happen.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ChangeOp } from "../../src/device/change.js";
import { Device } from "../../src/device/device.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { TINY } from "../../src/device/presets.js";
import { type ReplayEvent, replayEvents, streamKey } from "../../src/race/replay.js";
import type { ReplayAnomalyKind } from "../../src/race/replay-anomaly-kind.js";

const A = ChangeOp.ALLOC;
const F = ChangeOp.FREE;

function ev(
  op: ChangeOp,
  seq: number,
  allocationId: number,
  address: number,
  sizeBytes = 64,
  extra = {},
): ReplayEvent {
  return { op, deviceId: 0, memoryType: MemoryType.DRAM, seq, allocationId, address, sizeBytes, ...extra };
}

function only(kind: ReplayAnomalyKind, report: ReturnType<typeof replayEvents>): void {
  const nonzero = Object.entries(report.byKind).filter(([, n]) => n > 0);
  assert.deepEqual(nonzero, [[kind, 1]]);
  assert.equal(report.anomalies, 1);
  assert.equal(report.samples[0]!.kind, kind);
}

test("a clean stream has no anomaly in either mode, whatever its arrival order in ordered mode", () => {
  const stream = [ev(A, 1, 1, 0x100), ev(A, 2, 2, 0x200), ev(F, 3, 1, 0x100), ev(A, 4, 3, 0x100)];
  assert.equal(replayEvents(stream, { mode: "naive" }).anomalies, 0);
  const shuffled = [stream[3]!, stream[1]!, stream[2]!, stream[0]!];
  const ordered = replayEvents(shuffled, { mode: "ordered" });
  assert.equal(ordered.anomalies, 0);
  assert.deepEqual(
    ordered.live
      .get(streamKey(0, 0))!
      .map((a) => a.allocationId)
      .sort(),
    [2, 3],
  );
});

test("unknown free: FREE of an allocation that is not live (the seed's 'unknown buffer')", () => {
  only("UNKNOWN_FREE", replayEvents([ev(F, 1, 1, 0x100)], { mode: "ordered", firstSeq: 1 }));
  // The seed's interleaving, naive: FREE(0x1000) arrives before the ALLOC that it frees.
  const seed = [ev(F, 0, 0, 0x1000), ev(A, 0, 0, 0x1000), ev(A, 0, 0, 0x1000)];
  const naive = replayEvents(seed, { mode: "naive" });
  assert.equal(naive.byKind.UNKNOWN_FREE, 1);
  assert.equal(naive.byKind.DUPLICATE_ALLOCATION, 1);
  assert.equal(naive.live.get(streamKey(0, 0))![0]!.refCount, 2, "a phantom reference remains");
});

test("duplicate allocation: ALLOC of an identity that is already live", () => {
  only("DUPLICATE_ALLOCATION", replayEvents([ev(A, 1, 1, 0x100), ev(A, 2, 1, 0x100)], { mode: "ordered" }));
  only("DUPLICATE_ALLOCATION", replayEvents([ev(A, 0, 1, 0x100), ev(A, 0, 2, 0x100)], { mode: "naive" }));
});

test("overlap: two live allocations whose bank ranges intersect", () => {
  const events = [
    ev(A, 1, 1, 0x100, 4096, { sizePerBankBytes: 0x100 }),
    ev(A, 2, 2, 0x180, 4096, { sizePerBankBytes: 0x40 }),
  ];
  only("ADDRESS_OVERLAP", replayEvents(events, { mode: "ordered" }));
  // Adjacent ranges, and the same range in another memory type, do not overlap.
  const clean = [
    ev(A, 1, 1, 0x100, 4096, { sizePerBankBytes: 0x100 }),
    ev(A, 2, 2, 0x200, 4096, { sizePerBankBytes: 0x100 }),
    { ...ev(A, 3, 3, 0x100, 4096, { sizePerBankBytes: 0x100 }), memoryType: MemoryType.L1 },
  ];
  assert.equal(replayEvents(clean, { mode: "ordered" }).anomalies, 0);
  // An overlap with an earlier, larger allocation further left is found too.
  const far = [
    ev(A, 1, 1, 0x000, 4096, { sizePerBankBytes: 0x1000 }),
    ev(A, 2, 2, 0x100, 64, { sizePerBankBytes: 0x40 }),
    ev(A, 3, 3, 0x800, 64, { sizePerBankBytes: 0x40 }),
  ];
  assert.equal(replayEvents(far, { mode: "ordered" }).byKind.ADDRESS_OVERLAP, 2);
  // Types that share a region (L1 and CB) share one address space when the caller says so.
  const shared = [
    { ...ev(A, 1, 1, 0x100, 64, { sizePerBankBytes: 0x40 }), memoryType: MemoryType.L1 },
    { ...ev(A, 2, 2, 0x120, 64, { sizePerBankBytes: 0x40 }), memoryType: MemoryType.CB },
  ];
  assert.equal(replayEvents(shared, { mode: "ordered" }).anomalies, 0);
  const regionOf = Device.create(TINY, { id: 0 }).layout.regionOfType;
  only("ADDRESS_OVERLAP", replayEvents(shared, { mode: "ordered", addressSpaceOf: (t) => regionOf[t]! }));
});

test("free mismatch, size: a FREE whose size differs from its ALLOC (size 0 means not reported)", () => {
  const report = replayEvents([ev(A, 1, 1, 0x100, 64), ev(F, 2, 1, 0x100, 128)], { mode: "ordered" });
  only("FREE_MISMATCH", report);
  assert.equal(report.samples[0]!.detail, "size mismatch: FREE of 128 bytes for an allocation of 64 bytes");
  assert.equal(replayEvents([ev(A, 0, 1, 0x100, 64), ev(F, 0, 1, 0x100, 0)], { mode: "naive" }).anomalies, 0);
});

test("free mismatch, address: a FREE of an allocation id at another address", () => {
  const report = replayEvents([ev(A, 1, 1, 0x100), ev(F, 2, 1, 0x200)], { mode: "ordered" });
  only("FREE_MISMATCH", report);
  assert.equal(report.samples[0]!.detail, "address mismatch: FREE at 0x200 for an allocation at 0x100");
  // A FREE that disagrees in both counts once per disagreement, as the two kinds did before they merged.
  const both = replayEvents([ev(A, 1, 1, 0x100, 64), ev(F, 2, 1, 0x200, 128)], { mode: "ordered" });
  assert.equal(both.byKind.FREE_MISMATCH, 2);
  assert.deepEqual(
    both.samples.map((a) => a.detail.split(":")[0]),
    ["size mismatch", "address mismatch"],
  );
});

test("sequence gap: one anomaly per run of missing numbers", () => {
  const report = replayEvents([ev(A, 1, 1, 0x100), ev(A, 4, 2, 0x200)], { mode: "ordered" });
  only("SEQUENCE_GAP", report);
  assert.equal(report.samples[0]!.detail, "seq 2..3 missing");
});

test("duplicate sequence number", () => {
  only("DUPLICATE_SEQ", replayEvents([ev(A, 1, 1, 0x100), ev(A, 1, 1, 0x100)], { mode: "ordered" }));
});

test("streams are per (process, device): the same numbers in two processes are not duplicates", () => {
  const events = [ev(A, 1, 1, 0x100, 64, { processId: 10 }), ev(A, 1, 1, 0x100, 64, { processId: 11 })];
  const report = replayEvents(events, { mode: "ordered" });
  assert.equal(report.anomalies, 0);
  assert.deepEqual([...report.live.keys()].sort(), ["10:0", "11:0"]);
});
