// The demo's free workers: buffers allocated on the main thread are freed on worker threads of a shared
// device (with no server running: tracking must not get in the way).
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { FreePool } from "../../src/demo/free-pool.js";
import { Device } from "../../src/device/device.js";
import { DeviceBuffer } from "../../src/device/device-buffer.js";
import { GraphTracker } from "../../src/device/graph-tracker.js";
import { MemoryType } from "../../src/device/memory-type.js";
import { TINY } from "../../src/device/presets.js";

test("buffers handed to the pool are freed on its worker threads; drain waits for all of them", {
  timeout: 20_000,
}, async (t) => {
  const device = Device.create(TINY, { id: 0, shared: true });
  const tracker = new GraphTracker();
  const pool = new FreePool({
    workers: 2,
    devices: [device.share()],
    sessionId: "ab".repeat(16),
    resumeSecret: "ba".repeat(16),
    processName: "free-pool-test",
    socketPath: join(tmpdir(), `allocwatch-no-server-${process.pid}.sock`),
    originNs: process.hrtime.bigint(),
    connectTimeoutMs: 100,
  });
  // The pool's threads must not outlive a failed assertion (they would keep the test file running).
  t.after(() => pool.close());
  await pool.ready;
  // DRAM (2 x 64 KiB on TINY) holds all 200 buffers at once, so the test does not depend on how fast
  // the workers catch up on a loaded machine.
  for (let round = 0; round < 50; round++) {
    const buffers = Array.from({ length: 4 }, () =>
      DeviceBuffer.create(
        device,
        { memoryType: MemoryType.DRAM, sizeBytes: 256, pageSizeBytes: 64 },
        { tracker },
      ),
    );
    for (const b of buffers) pool.release(b);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await pool.drain();
  assert.equal(device.allocator.snapshot().allocations.length, 0);
  assert.equal(pool.counters.handedOver + pool.counters.freedInPlace, 200);
  assert.ok(pool.counters.handedOver > 0);
});

test("a worker too far behind makes the caller free in place (bounded in bytes)", {
  timeout: 20_000,
}, async (t) => {
  const device = Device.create(TINY, { id: 0, shared: true });
  const pool = new FreePool({
    workers: 1,
    devices: [device.share()],
    sessionId: "cd".repeat(16),
    resumeSecret: "dc".repeat(16),
    processName: "free-pool-test",
    socketPath: join(tmpdir(), `allocwatch-no-server-${process.pid}.sock`),
    originNs: process.hrtime.bigint(),
    connectTimeoutMs: 100,
    maxInFlightBytes: 512,
  });
  t.after(() => pool.close());
  // Synchronously, so the worker cannot catch up: 2 x 256 B fit, the rest is freed here.
  for (let i = 0; i < 6; i++) {
    pool.release(
      DeviceBuffer.create(device, { memoryType: MemoryType.L1, sizeBytes: 256, pageSizeBytes: 64 }),
    );
  }
  assert.deepEqual(pool.counters, { handedOver: 2, freedInPlace: 4 });
  await pool.drain();
  assert.equal(device.allocator.snapshot().allocations.length, 0);
});
