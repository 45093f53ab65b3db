// The original server's semantics for one legacy process, on a real Session and Registry: identity is
// (device, address), a second ALLOC on a live key raises a reference count, and every oddity is an
// anomaly counted by kind.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MemoryType } from "../../src/protocol/memory-type.js";
import { AnomalyLog } from "../../src/server/anomaly-log.js";
import { LegacyKeySpace, LegacyProcess, LegacyStats } from "../../src/server/legacy/legacy-process.js";
import { Registry } from "../../src/server/registry.js";
import { ReorderBudget } from "../../src/server/reorder-budget.js";
import { SequencerCounters } from "../../src/server/sequencer.js";
import { Session } from "../../src/server/session.js";
import { ManualTimers } from "../../src/server/timers.js";

export function world(reorderWindowMs = 0, maxHeldFrees = 100) {
  const anomalies = new AnomalyLog(64);
  const registry = new Registry(anomalies);
  const timers = new ManualTimers();
  const session = new Session(
    {
      sessionId: "4c454741".padEnd(32, "0"),
      pid: 4242,
      processStartTicks: 0,
      processName: "tt",
      source: "legacy",
    },
    {
      registry,
      anomalies,
      counters: new SequencerCounters(),
      timers,
      sequencerOptions: { reorderCapacity: 256, gapTimeoutMs: 100, maxSnapshotAllocations: 1000 },
      reorderBudget: new ReorderBudget(),
    },
  );
  const stats = new LegacyStats();
  const process = new LegacyProcess(session, { anomalies, timers, stats, reorderWindowMs, maxHeldFrees });
  const used = (deviceId: number, type: number) => registry.findDevice(deviceId)?.usedBytes[type] ?? 0;
  const live = (deviceId: number) => registry.findDevice(deviceId)?.liveAllocations ?? 0;
  return { anomalies, registry, timers, session, stats, process, used, live };
}

const { BUFFER, CB, KERNEL } = LegacyKeySpace;

test("ALLOC then FREE of one key: bytes counted once, then released", () => {
  const w = world();
  w.process.allocate(BUFFER, 0, 0x1000, MemoryType.DRAM, 4096);
  assert.equal(w.used(0, MemoryType.DRAM), 4096);
  assert.equal(w.session.account.liveAllocations, 1);
  w.process.free(BUFFER, 0, 0x1000, -1);
  assert.equal(w.used(0, MemoryType.DRAM), 0);
  assert.equal(w.anomalies.total, 0);
});

test("a second ALLOC at a live address raises the reference count; it takes as many FREEs (kernel-binary views)", () => {
  const w = world();
  w.process.allocate(BUFFER, 1, 0x2000, MemoryType.DRAM, 12288);
  w.process.allocate(BUFFER, 1, 0x2000, MemoryType.DRAM, 12288);
  assert.equal(w.process.refCount(BUFFER, 1, 0x2000), 2);
  assert.equal(w.used(1, MemoryType.DRAM), 12288, "bytes are not added twice");
  assert.equal(w.anomalies.total, 0, "same size: the shared-address case tt-metal relies on, not an anomaly");
  w.process.free(BUFFER, 1, 0x2000, -1);
  assert.equal(w.used(1, MemoryType.DRAM), 12288, "the view died, the cached binary lives on");
  w.process.free(BUFFER, 1, 0x2000, -1);
  assert.equal(w.used(1, MemoryType.DRAM), 0);
  assert.equal(w.stats.sharedAllocations, 1);
  assert.equal(w.stats.sharedFrees, 1);
});

test("a duplicate ALLOC with a different size is a DUPLICATE_ALLOCATION anomaly; the first size is kept", () => {
  const w = world();
  w.process.allocate(BUFFER, 0, 0x3000, MemoryType.L1, 1024);
  w.process.allocate(BUFFER, 0, 0x3000, MemoryType.L1, 2048);
  assert.equal(w.anomalies.count("DUPLICATE_ALLOCATION"), 1);
  assert.equal(w.used(0, MemoryType.L1), 1024);
  assert.equal(w.process.refCount(BUFFER, 0, 0x3000), 2);
});

test("a FREE of an address never allocated is an UNKNOWN_FREE anomaly and changes nothing", () => {
  const w = world();
  w.process.allocate(BUFFER, 0, 0x1000, MemoryType.DRAM, 64);
  w.process.free(BUFFER, 0, 0x9999, -1);
  w.process.free(BUFFER, 1, 0x1000, -1); // same address, other device: another key
  assert.equal(w.anomalies.count("UNKNOWN_FREE"), 2);
  assert.equal(w.used(0, MemoryType.DRAM), 64);
});

test("buffers, CBs and kernels are separate key spaces (as the original's three maps)", () => {
  const w = world();
  w.process.allocate(BUFFER, 0, 0x4000, MemoryType.L1, 100);
  w.process.allocate(CB, 0, 0x4000, MemoryType.CB, 200);
  w.process.allocate(KERNEL, 0, 0x4000, MemoryType.KERNEL, 300);
  assert.equal(w.live(0), 3);
  assert.equal(w.anomalies.total, 0);
  w.process.free(CB, 0, 0x4000, 200);
  assert.equal(w.used(0, MemoryType.CB), 0);
  assert.equal(w.used(0, MemoryType.L1), 100);
  assert.equal(w.used(0, MemoryType.KERNEL), 300);
});

test("CB_FREE / KERNEL_UNLOAD carrying another size than the ALLOC: FREE_MISMATCH, the stored size is released", () => {
  const w = world();
  w.process.allocate(KERNEL, 2, 77, MemoryType.KERNEL, 12288);
  w.process.free(KERNEL, 2, 77, 4096);
  assert.equal(w.anomalies.count("FREE_MISMATCH"), 1);
  assert.equal(w.used(2, MemoryType.KERNEL), 0);
});

test("reorder window off (default): the seed's race leaves a phantom reference, as in the original", () => {
  // T1 allocates 0x1000 (report delayed); T2 frees and re-allocates 0x1000; T1's ALLOC arrives last.
  const w = world(0);
  w.process.free(BUFFER, 0, 0x1000, -1);
  w.process.allocate(BUFFER, 0, 0x1000, MemoryType.DRAM, 4096);
  w.process.allocate(BUFFER, 0, 0x1000, MemoryType.DRAM, 4096);
  w.process.free(BUFFER, 0, 0x1000, -1); // the buffer really dies
  assert.equal(w.anomalies.count("UNKNOWN_FREE"), 1);
  assert.equal(w.used(0, MemoryType.DRAM), 4096, "phantom leak: one reference never freed");
});

test("reorder window fixes that race when the late ALLOC arrives within the window", () => {
  const w = world(50);
  w.process.free(BUFFER, 0, 0x1000, -1); // held, not yet an anomaly
  assert.equal(w.process.heldFrees, 1);
  assert.equal(w.anomalies.total, 0);
  w.timers.advance(10);
  w.process.allocate(BUFFER, 0, 0x1000, MemoryType.DRAM, 4096); // cancels the held FREE
  w.process.allocate(BUFFER, 0, 0x1000, MemoryType.DRAM, 4096);
  w.process.free(BUFFER, 0, 0x1000, -1);
  assert.equal(w.used(0, MemoryType.DRAM), 0, "no phantom leak");
  assert.equal(w.anomalies.count("REORDERED_FREE"), 1);
  assert.equal(w.anomalies.count("UNKNOWN_FREE"), 0);
  w.timers.advance(100);
  assert.equal(w.anomalies.count("UNKNOWN_FREE"), 0, "the cancelled FREE's timer was cleared");
});

test("reorder window does not fix an ALLOC later than the window: unknown free, then the phantom leak", () => {
  const w = world(50);
  w.process.free(BUFFER, 0, 0x1000, -1);
  w.timers.advance(51);
  assert.equal(w.anomalies.count("UNKNOWN_FREE"), 1, "counted when the window expires");
  w.process.allocate(BUFFER, 0, 0x1000, MemoryType.DRAM, 4096);
  w.process.allocate(BUFFER, 0, 0x1000, MemoryType.DRAM, 4096);
  w.process.free(BUFFER, 0, 0x1000, -1);
  assert.equal(w.used(0, MemoryType.DRAM), 4096);
});

test("reorder window wrongly cancels a genuine new ALLOC after a free of a pre-tracking buffer (under-count)", () => {
  // The buffer at 0x5000 was allocated before tracking started; its FREE is genuinely unknown. A new
  // buffer then lands at the same address within the window: the heuristic takes it for the late ALLOC.
  const w = world(50);
  w.process.free(BUFFER, 0, 0x5000, -1);
  w.process.allocate(BUFFER, 0, 0x5000, MemoryType.DRAM, 8192);
  assert.equal(w.used(0, MemoryType.DRAM), 0, "a live 8 KiB buffer is missing: the documented cost");
  w.process.free(BUFFER, 0, 0x5000, -1);
  assert.equal(w.anomalies.count("UNKNOWN_FREE"), 0, "and its real FREE is held as unknown again...");
  w.timers.advance(60);
  assert.equal(w.anomalies.count("UNKNOWN_FREE"), 1);
});

test("reorder window cannot tell which same-address ALLOC a FREE belonged to: sizes may swap", () => {
  // Real order: T1 ALLOC 0x1000 (4 KiB), T1 FREE, T2 ALLOC 0x1000 (8 KiB). Arrival: FREE, T2's, T1's.
  const w = world(50);
  w.process.free(BUFFER, 0, 0x1000, -1);
  w.process.allocate(BUFFER, 0, 0x1000, MemoryType.DRAM, 8192); // cancels the FREE
  w.process.allocate(BUFFER, 0, 0x1000, MemoryType.DRAM, 4096);
  assert.equal(w.used(0, MemoryType.DRAM), 4096, "live is T2's 8 KiB buffer, counted as 4 KiB");
});

test("held FREEs are bounded; beyond the bound they are unknown at once; release counts the rest", () => {
  const w = world(50, 2);
  w.process.free(BUFFER, 0, 1, -1);
  w.process.free(BUFFER, 0, 2, -1);
  w.process.free(BUFFER, 0, 3, -1);
  assert.equal(w.process.heldFrees, 2);
  assert.equal(w.anomalies.count("UNKNOWN_FREE"), 1);
  w.process.release();
  assert.equal(w.anomalies.count("UNKNOWN_FREE"), 3);
  assert.equal(w.timers.pendingCount, 0);
});
