// QUERY and DEVICE_INFO_QUERY over a real socket, frames built byte by byte, replies checked field by
// field at the documented offsets, in the layout the client speaks (112 or 144, fixed or auto-detected).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DEVICE_PRESETS } from "../../src/device/presets.js";
import { type LegacyTestServer, startLegacyServer } from "./legacy-server.js";
import { concat, i32, RESPONSE_OFFSETS, request, TYPE, u8, u32, u64, zeroBetween } from "./wire.js";

const wormhole = DEVICE_PRESETS["wormhole_b0_n150"]!;
const blackhole = DEVICE_PRESETS["blackhole_p150"]!;
let server: LegacyTestServer;

before(async () => {
  server = await startLegacyServer({
    frame: "auto",
    devices: [
      { deviceId: 0, preset: wormhole },
      { deviceId: 1, preset: wormhole },
      { deviceId: 5, preset: blackhole },
    ],
  });
});
after(() => server.stop());

const pid = process.pid;
const alloc = (deviceId: number, bufferType: number, size: number, bufferId: number) => ({
  type: TYPE.ALLOC,
  deviceId,
  size,
  bufferType,
  pid,
  bufferId,
});
const query = (deviceId: number) => ({
  type: TYPE.QUERY,
  deviceId,
  size: 0,
  bufferType: 0,
  pid: 0,
  bufferId: 0,
});
const info = (deviceId: number) => ({
  type: TYPE.DEVICE_INFO_QUERY,
  deviceId,
  size: 0,
  bufferType: 0,
  pid: 0,
  bufferId: 0,
});

for (const frameBytes of [144, 112] as const) {
  test(`${frameBytes}-byte client: QUERY answers the device's counters at the documented offsets`, async () => {
    const c = await server.connectLegacy();
    const dev = frameBytes === 144 ? 0 : 1;
    const base = 0x100000;
    await c.write(
      concat([
        request(frameBytes, alloc(dev, 0, 1 << 20, base)), // DRAM
        request(frameBytes, alloc(dev, 1, 65536, base + 0x1000)), // L1
        request(frameBytes, alloc(dev, 2, 4096, base + 0x2000)), // SYSTEM_MEMORY → counted in l1_small
        request(frameBytes, alloc(dev, 3, 2048, base + 0x3000)), // L1_SMALL
        request(frameBytes, alloc(dev, 4, 8192, base + 0x4000)), // TRACE
        request(frameBytes, {
          type: TYPE.CB_ALLOC,
          deviceId: dev,
          size: 32768,
          bufferType: 0,
          pid,
          bufferId: 0x9000,
        }),
        request(frameBytes, {
          type: TYPE.KERNEL_LOAD,
          deviceId: dev,
          size: 12288,
          bufferType: 2,
          pid,
          bufferId: 7,
        }),
        request(frameBytes, query(dev)),
      ]),
    );
    const r = await c.read(frameBytes);
    const o = RESPONSE_OFFSETS[frameBytes];
    assert.equal(u8(r, 0), TYPE.RESPONSE);
    assert.ok(zeroBetween(r, 1, 4));
    assert.equal(i32(r, 4), dev);
    assert.ok(zeroBetween(r, 8, 40), "request fields are zero in a RESPONSE");
    assert.equal(u64(r, o.dram), 1n << 20n);
    assert.equal(u64(r, o.l1), 65536n);
    assert.equal(u64(r, o.l1Small), 4096n + 2048n);
    assert.equal(u64(r, o.trace), 8192n);
    if (frameBytes === 144) {
      const o144 = RESPONSE_OFFSETS[144];
      assert.equal(u64(r, o144.cb), 32768n);
      assert.equal(u64(r, o144.kernel), 12288n);
      assert.ok(zeroBetween(r, 88, 144));
    } else {
      assert.ok(zeroBetween(r, 72, 112), "no CB/KERNEL slots in the 112-byte layout");
    }
    c.close();
    await c.closed;
  });

  test(`${frameBytes}-byte client: DEVICE_INFO_QUERY(-1) answers the number of configured devices`, async () => {
    const c = await server.connectLegacy();
    // A monitor's first frame, alone: auto-detection must settle even for a lone 112-byte frame.
    await c.write(request(frameBytes, info(-1)));
    const r = await c.read(frameBytes);
    const o = RESPONSE_OFFSETS[frameBytes];
    assert.equal(u8(r, 0), TYPE.DEVICE_INFO_RESPONSE);
    assert.equal(i32(r, 4), -1);
    assert.equal(u32(r, o.numDevices), 3);
    assert.equal(u32(r, o.isAvailable), 1);
    c.close();
  });

  test(`${frameBytes}-byte client: DEVICE_INFO_QUERY(id) answers the preset's capacities field by field`, async () => {
    const c = await server.connectLegacy();
    await c.write(
      concat([request(frameBytes, info(5)), request(frameBytes, info(0)), request(frameBytes, info(3))]),
    );
    const o = RESPONSE_OFFSETS[frameBytes];
    const bh = await c.read(frameBytes);
    assert.equal(u8(bh, 0), TYPE.DEVICE_INFO_RESPONSE);
    assert.equal(i32(bh, 4), 5);
    assert.equal(u32(bh, o.isAvailable), 1);
    assert.equal(u32(bh, o.arch), 3, "Blackhole");
    assert.equal(u32(bh, o.channels), blackhole.dram.bankCount);
    assert.equal(u32(bh, o.dramPerChannel), blackhole.dram.bankSizeBytes);
    assert.equal(u32(bh, o.l1PerCore), blackhole.l1.sizePerCoreBytes);
    assert.equal(u64(bh, o.totalDram), BigInt(blackhole.dram.bankCount * blackhole.dram.bankSizeBytes));
    assert.equal(u64(bh, o.totalL1), BigInt(blackhole.l1.bankCount * blackhole.l1.sizePerCoreBytes));
    const wh = await c.read(frameBytes);
    assert.equal(i32(wh, 4), 0);
    assert.equal(u32(wh, o.arch), 2, "Wormhole_B0");
    assert.equal(u64(wh, o.totalDram), 12n * 2n ** 30n);
    const unknown = await c.read(frameBytes);
    assert.equal(u8(unknown, 0), TYPE.DEVICE_INFO_RESPONSE);
    assert.equal(i32(unknown, 4), 3);
    assert.ok(zeroBetween(unknown, 8, frameBytes), "an unconfigured device gets a zeroed answer");
    c.close();
  });
}

test("QUERY counts every process on the device: a second legacy connection sees the first one's bytes", async () => {
  const a = await server.connectLegacy();
  await a.write(request(144, alloc(5, 0, 777, 0x7770)));
  const b = await server.connectLegacy();
  await b.write(request(144, query(5)));
  const r = await b.read(144);
  assert.equal(u64(r, RESPONSE_OFFSETS[144].dram), 777n);
  a.close();
  b.close();
});

test("QUERY of an unknown device: zero counters, device id echoed", async () => {
  const c = await server.connectLegacy();
  await c.write(request(144, query(-7)));
  const r = await c.read(144);
  assert.equal(u8(r, 0), TYPE.RESPONSE);
  assert.equal(i32(r, 4), -7);
  assert.ok(zeroBetween(r, 8, 144));
  c.close();
});

test("72-byte monitor (auto): QUERY answers the four counters in 72 bytes; DEVICE_INFO what fits", async () => {
  const a = await server.connectLegacy();
  await a.write(request(144, alloc(1, 0, 1 << 16, 0x720000)));
  const c = await server.connectLegacy();
  await c.write(request(72, query(1)));
  const r = await c.read(72);
  assert.equal(u8(r, 0), TYPE.RESPONSE);
  assert.equal(i32(r, 4), 1);
  assert.ok(u64(r, RESPONSE_OFFSETS[72].dram) >= 1n << 16n);
  await c.write(request(72, info(-1)));
  const count = await c.read(72);
  assert.equal(u8(count, 0), TYPE.DEVICE_INFO_RESPONSE);
  assert.equal(i32(count, 4), -1);
  assert.ok(zeroBetween(count, 8, 72), "no num_devices field in the 72-byte layout");
  a.close();
  c.close();
});
