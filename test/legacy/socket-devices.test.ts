// Devices without --legacy-device: a device id first named in a frame becomes a known device of unknown
// size (at most 64 learned), devices named by the discovery hook are known with their preset, and
// DEVICE_INFO_QUERY(-1) counts configured, discovered and seen devices alike.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEVICE_PRESETS } from "../../src/device/presets.js";
import { MAX_LEARNED_DEVICES } from "../../src/server/legacy/device-table.js";
import { startAdapter } from "./adapter-fixture.js";
import { type LegacyTestServer, type RawLegacyClient, startLegacyServer } from "./legacy-server.js";
import { concat, i32, RESPONSE_OFFSETS, request, TYPE, u32, u64, zeroBetween } from "./wire.js";

const pid = process.pid;
const o = RESPONSE_OFFSETS[144];
const alloc = (deviceId: number, bufferId = 0x1000) =>
  request(144, { type: TYPE.ALLOC, deviceId, size: 4096, bufferType: 0, pid, bufferId });
const info = (deviceId: number) =>
  request(144, { type: TYPE.DEVICE_INFO_QUERY, deviceId, size: 0, bufferType: 0, pid: 0, bufferId: 0 });
const query = (deviceId: number) =>
  request(144, { type: TYPE.QUERY, deviceId, size: 0, bufferType: 0, pid: 0, bufferId: 0 });

async function ask(c: RawLegacyClient, frame: Uint8Array): Promise<Uint8Array> {
  await c.write(frame);
  return c.read(144);
}

test("no --legacy-device: DEVICE_INFO(-1) answers 0, then counts the devices traffic named", async (t) => {
  const server: LegacyTestServer = await startLegacyServer({ frame: 144 });
  t.after(() => server.stop());
  const c = await server.connectLegacy();
  assert.equal(u32(await ask(c, info(-1)), o.numDevices), 0, "nothing seen yet");

  await c.write(alloc(0));
  const count = await ask(c, info(-1));
  assert.equal(u32(count, o.numDevices), 1);
  assert.equal(u32(count, o.isAvailable), 1);
  const device0 = await ask(c, info(0));
  assert.equal(i32(device0, 4), 0);
  assert.equal(u32(device0, o.isAvailable), 1, "a seen device is available");
  assert.ok(zeroBetween(device0, 8, o.isAvailable), "its capacities are unknown: zero");

  // A monitor's QUERY names a device too.
  await ask(c, query(9));
  assert.equal(u32(await ask(c, info(-1)), o.numDevices), 2);
  assert.equal(u32(await ask(c, info(3)), o.isAvailable), 0, "a device nobody named: a zeroed answer");
  c.close();
});

test(`at most ${MAX_LEARNED_DEVICES} device ids are learned from traffic; past that: INVALID_DEVICE_ID`, async (t) => {
  const server = await startLegacyServer({ frame: 144 });
  t.after(() => server.stop());
  const c = await server.connectLegacy();
  const frames: Uint8Array[] = [];
  for (let id = 0; id < MAX_LEARNED_DEVICES + 6; id++) frames.push(alloc(100 + id));
  await c.write(concat(frames));
  assert.equal(u32(await ask(c, info(-1)), o.numDevices), MAX_LEARNED_DEVICES);
  assert.equal((await server.anomalies()).byKind["INVALID_DEVICE_ID"], 6);
  // The learned ones carry their bytes; the refused ones none.
  assert.equal(u64(await ask(c, query(100)), o.dram), 4096n);
  assert.equal(u64(await ask(c, query(100 + MAX_LEARNED_DEVICES)), o.dram), 0n);
  c.close();
});

test("the discovery hook's devices are known (with their preset) and accepted in frames", async (t) => {
  const wormhole = DEVICE_PRESETS["wormhole_b0_n150"]!;
  let asked = 0;
  const started = performance.now();
  const fixture = await startAdapter(
    { frame: 144 },
    {
      discoveredDevices: () => {
        asked++;
        return [
          { deviceId: 0, preset: wormhole },
          { deviceId: 1, preset: undefined },
        ];
      },
    },
  );
  t.after(() => fixture.stop());
  const c = await fixture.connect();
  assert.equal(u32(await ask(c, info(-1)), o.numDevices), 2);
  const device0 = await ask(c, info(0));
  assert.equal(u32(device0, o.arch), 2, "Wormhole_B0, from the preset");
  assert.equal(u64(device0, o.totalDram), BigInt(wormhole.dram.bankCount * wormhole.dram.bankSizeBytes));
  const device1 = await ask(c, info(1));
  assert.equal(u32(device1, o.isAvailable), 1);
  assert.equal(u64(device1, o.totalDram), 0n, "discovered without a preset: sizes unknown");

  await c.write(alloc(1));
  await c.write(alloc(7));
  assert.equal(u32(await ask(c, info(-1)), o.numDevices), 3, "two discovered + one seen");
  assert.equal(fixture.adapter.devices.learnedCount, 1, "device 1 was discovered, not learned");
  assert.equal(fixture.anomalies.count("INVALID_DEVICE_ID"), 0);
  assert.equal(u64(await ask(c, query(1)), o.dram), 4096n);
  const seconds = Math.ceil((performance.now() - started) / 1000);
  assert.ok(
    asked <= 1 + seconds,
    `the hook was asked ${asked} times in ${seconds} s (at most once a second)`,
  );
  c.close();
});
