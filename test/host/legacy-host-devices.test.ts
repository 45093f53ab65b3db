// The legacy protocol sees the host's devices: cards and tt-metal shared-memory regions count for
// DEVICE_INFO without any --legacy-device, and a process seen both through the legacy socket and a
// shared-memory slot is counted once (the per-buffer source wins).
import assert from "node:assert/strict";
import { test } from "node:test";
import { WORMHOLE_B0_N150 } from "../../src/device/presets.js";
import { LegacyArch } from "../../src/protocol/legacy/layout.js";
import { FakeRoot } from "../hardware/fake-root.js";
import { startLegacyServer } from "../legacy/legacy-server.js";
import { i32, RESPONSE_OFFSETS, request, TYPE, u32, u64 } from "../legacy/wire.js";
import { waitFor } from "../support/wait-for.js";
import { epochNowNs, tempDir } from "../tt-shm/fixture.js";
import { writeRegionFile } from "../tt-shm/region-writer.js";

const o = RESPONSE_OFFSETS[144];
const info = (deviceId: number) =>
  request(144, { type: TYPE.DEVICE_INFO_QUERY, deviceId, size: 0, bufferType: 0, pid: 0, bufferId: 0 });

test("without --legacy-device, DEVICE_INFO counts the host's cards (with their presets) and shared-memory regions", async (t) => {
  const root = new FakeRoot();
  t.after(() => root.remove());
  root.addCard(0, { cardType: "n150" });
  root.addCard(1, { cardType: "p150a" });
  const shm = tempDir(t);
  writeRegionFile(shm, { layout: 4, asicId: 99n, deviceId: 5 });
  const server = await startLegacyServer(
    { frame: 144 },
    { hardware: { devRoot: root.path, scanIntervalMs: 20 }, ttShm: { dir: shm, scanIntervalMs: 20 } },
  );
  t.after(() => server.stop());
  const c = await server.connectLegacy();
  t.after(() => c.close());
  const count = await waitFor(
    async () => {
      await c.write(info(-1));
      const n = u32(await c.read(144), o.numDevices);
      return n === 3 ? n : undefined;
    },
    { what: "DEVICE_INFO(-1) to count two cards and one region" },
  );
  assert.equal(count, 3);
  await c.write(info(0));
  const card = await c.read(144);
  assert.equal(i32(card, 4), 0);
  assert.equal(u32(card, o.arch), LegacyArch.WORMHOLE_B0);
  assert.equal(u32(card, o.channels), WORMHOLE_B0_N150.dram.bankCount);
  assert.equal(
    u64(card, o.totalDram),
    BigInt(WORMHOLE_B0_N150.dram.bankCount * WORMHOLE_B0_N150.dram.bankSizeBytes),
  );
  await c.write(info(5));
  const region = await c.read(144);
  assert.equal(u32(region, o.isAvailable), 1, "a region's device is available, of unknown size");
  assert.equal(u64(region, o.totalDram), 0n);
});

test("one process through the legacy socket and a shared-memory slot on the same device is counted once", async (t) => {
  const shm = tempDir(t);
  writeRegionFile(shm, {
    layout: 4,
    asicId: 77n,
    deviceId: 0,
    totals: { DRAM: 4096 + 1000 },
    slots: [
      { pid: process.pid, name: "both", used: { DRAM: 4096 }, lastUpdateNs: epochNowNs() },
      // Bytes no slot accounts for (1000) stay in the device's use.
    ],
  });
  const server = await startLegacyServer({ frame: 144 }, { ttShm: { dir: shm, scanIntervalMs: 20 } });
  t.after(() => server.stop());
  const c = await server.connectLegacy();
  t.after(() => c.close());
  await c.write(
    request(144, {
      type: TYPE.ALLOC,
      deviceId: 0,
      size: 4096,
      bufferType: 0,
      pid: process.pid,
      bufferId: 0x1000,
    }),
  );
  const summary = await waitFor(
    async () => {
      const s = await server.summary();
      return s.processes.some((p) => p.source === "legacy") && s.devices[0]?.sources.includes("tt-shm")
        ? s
        : undefined;
    },
    { what: "the legacy session and the region both to show" },
  );
  assert.equal(summary.devices[0]!.memory.DRAM.used, 4096 + 1000);
  assert.deepEqual(
    summary.processes.map((p) => [p.pid, p.source, p.devices.map((d) => d.used.DRAM)]),
    [[process.pid, "legacy", [4096]]],
  );
});
