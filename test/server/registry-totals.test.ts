// Totals stay exact, and odd sizes are named: an ALLOC that would take a device's total past 2^53 − 1
// bytes (where float64 sums stop being exact) is refused as TOTAL_OVERFLOW, so one client's absurd
// sizes cannot leave another's totals wrong after it leaves; an ALLOC of 0 bytes is recorded and
// counted as ZERO_SIZE_ALLOCATION (docs/PROTOCOL.md 3.3). The registry, then the wire.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeEvents, encodeGoodbye } from "../../src/protocol/encode-frame.js";
import { EventOp } from "../../src/protocol/event.js";
import { AnomalyLog } from "../../src/server/anomaly-log.js";
import { MAX_TOTAL_BYTES, Registry } from "../../src/server/registry.js";
import { waitFor } from "../support/wait-for.js";
import { RawClient } from "./raw-client.js";
import { startTestServer } from "./test-server.js";

const DRAM = 0 as const;
const L1 = 1 as const;

function setUp() {
  const anomalies = new AnomalyLog();
  const registry = new Registry(anomalies);
  const victim = registry.ledger(registry.openAccount("a".repeat(32), 100), 0);
  const hostile = registry.ledger(registry.openAccount("b".repeat(32), 200), 0);
  return { anomalies, registry, victim, hostile, device: registry.device(0) };
}

test("an ALLOC past 2^53 − 1 bytes of a device's total is refused; the other session's total stays exact", () => {
  const { anomalies, registry, victim, hostile, device } = setUp();
  assert.equal(registry.allocate(victim, DRAM, 1, 0x1000, 3, 0), true);
  // 3 + (2^53 − 2) = 2^53 + 1: not a float64. Recorded, it would round to 2^53, and after the FREE
  // the victim's device total would read 2, not 3, for good.
  assert.equal(registry.allocate(hostile, DRAM, 1, 0x2000, 2 ** 53 - 2, 0), false);
  assert.equal(anomalies.count("TOTAL_OVERFLOW"), 1);
  assert.match(anomalies.recent()[0]!.detail, /would take the device's total past 9007199254740991 bytes/);
  assert.equal(registry.free(hostile, DRAM, 1, 2 ** 53 - 2), false, "never recorded: its FREE is unknown");
  assert.equal(device.usedBytes[DRAM], 3);
  assert.equal(device.peakBytes[DRAM], 3);
  assert.equal(hostile.usedBytes[DRAM], 0);
  assert.equal(registry.liveAllocations, 1);

  // Up to the limit itself is fine (and exact), and each memory type has its own total.
  assert.equal(registry.allocate(hostile, DRAM, 2, 0x2000, MAX_TOTAL_BYTES - 3, 0), true);
  assert.equal(device.usedBytes[DRAM], MAX_TOTAL_BYTES);
  assert.equal(registry.allocate(hostile, L1, 3, 0x2000, 2 ** 52, 0), true);
  assert.equal(registry.allocate(victim, DRAM, 4, 0x3000, 1, 0), false, "one byte more is refused");
  registry.releaseAccount(hostile.account);
  assert.equal(device.usedBytes[DRAM], 3);
  assert.equal(device.usedBytes[L1], 0);
  assert.equal(anomalies.count("TOTAL_OVERFLOW"), 2);
});

test("an ALLOC of 0 bytes is recorded (its FREE pairs up) and counted as ZERO_SIZE_ALLOCATION", () => {
  const { anomalies, registry, victim, device } = setUp();
  assert.equal(registry.allocate(victim, L1, 9, 0x40, 0, 0), true);
  assert.equal(anomalies.count("ZERO_SIZE_ALLOCATION"), 1);
  assert.match(anomalies.recent()[0]!.detail, /allocation 9 \(L1 at 0x40\) has 0 bytes/);
  assert.equal(device.allocations[L1], 1);
  assert.equal(device.usedBytes[L1], 0);
  assert.equal(registry.free(victim, L1, 9, 0), true);
  assert.equal(anomalies.total, 1, "the FREE is not a second anomaly");
  assert.equal(registry.liveAllocations, 0);
});

test("over the wire: a 0-byte ALLOC and an overflowing ALLOC show in /api/v1/anomalies; totals stay exact", {
  timeout: 20_000,
}, async () => {
  const server = await startTestServer();
  const victim = await RawClient.handshake(server.socketPath);
  const hostile = await RawClient.handshake(server.socketPath);
  try {
    const alloc = (seq: number, allocationId: number, sizeBytes: number) => ({
      op: EventOp.ALLOC,
      deviceId: 0,
      memoryType: DRAM,
      seq,
      allocationId,
      address: allocationId * 0x1000,
      sizeBytes,
      timestampNs: 0,
    });
    victim.send(encodeEvents([alloc(1, 1, 3), alloc(2, 2, 0)]));
    await waitFor(async () => (await server.get("/api/v1/summary")).body.devices[0]?.allocations === 2, {
      what: "the victim's two allocations",
    });
    hostile.send(encodeEvents([alloc(1, 7, 2 ** 53 - 2), { ...alloc(2, 7, 2 ** 53 - 2), op: EventOp.FREE }]));
    hostile.send(encodeGoodbye());
    hostile.end();
    await hostile.closed;
    const { body } = await server.get("/api/v1/anomalies");
    assert.deepEqual(body.byKind, { ZERO_SIZE_ALLOCATION: 1, TOTAL_OVERFLOW: 1, UNKNOWN_FREE: 1 });
    const summary = (await server.get("/api/v1/summary")).body;
    assert.equal(
      summary.devices[0].memory.DRAM.used,
      3,
      "the victim's total is exact after the hostile left",
    );
    assert.equal(summary.devices[0].memory.DRAM.peak, 3);
  } finally {
    victim.destroy();
    hostile.destroy();
    await server.stop();
  }
});

test("the change log lists every slot allocated into or released, in order; a bad capacity is refused", () => {
  const registry = new Registry(new AnomalyLog(), undefined, { changeLogSlots: 4 });
  const ledger = registry.ledger(registry.openAccount("c".repeat(32), 1), 0);
  const start = registry.changes.recorded;
  registry.allocate(ledger, 0, 1, 4096, 64, 0);
  registry.allocate(ledger, 0, 2, 8192, 64, 0);
  registry.free(ledger, 0, 1, 64);
  // A refused ALLOC (duplicate id) changes no slot.
  registry.allocate(ledger, 0, 2, 8192, 64, 0);
  const { slots, mask, recorded } = registry.changes;
  assert.equal(recorded - start, 3);
  assert.deepEqual(
    [0, 1, 2].map((i) => slots[(start + i) & mask]),
    [0, 1, 0],
  );
  assert.equal(registry.changes.covers(start), true);
  registry.allocate(ledger, 0, 3, 4096, 64, 0);
  registry.allocate(ledger, 0, 4, 12288, 64, 0);
  // Five changes since `start` no longer fit a ring of four.
  assert.equal(registry.changes.covers(start), false);
  for (const bad of [0, 3, 6, 2 ** 31, 1.5]) {
    assert.throws(
      () => new Registry(new AnomalyLog(), undefined, { changeLogSlots: bad }),
      (error: Error & { code?: string }) =>
        error.code === "SERVER_INVALID_OPTION" && /power of two/.test(error.message),
    );
  }
});
