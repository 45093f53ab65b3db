// RESPONSE and DEVICE_INFO_RESPONSE frames, checked field by field at the documented offsets of each layout.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LegacyFrameDecoder } from "../../src/protocol/legacy/decoder.js";
import {
  encodeLegacyDeviceInfoResponse,
  encodeLegacyRequest,
  encodeLegacyResponse,
} from "../../src/protocol/legacy/encoder.js";
import { recording } from "./recording-sink.js";
import { i32, RESPONSE_OFFSETS, request, TYPE, u8, u32, u64, zeroBetween } from "./wire.js";

const counters = {
  dramBytes: 2 ** 33 + 5,
  l1Bytes: 1_048_576,
  l1SmallBytes: 32_768,
  traceBytes: 2 ** 52,
  cbBytes: 65_536,
  kernelBytes: 12_288,
};

test("144-byte RESPONSE: type, echoed device id, six counters at 40..80, zeros elsewhere", () => {
  const f = encodeLegacyResponse(144, 5, counters);
  const o = RESPONSE_OFFSETS[144];
  assert.equal(f.length, 144);
  assert.equal(u8(f, 0), TYPE.RESPONSE);
  assert.ok(zeroBetween(f, 1, 4));
  assert.equal(i32(f, 4), 5);
  assert.ok(zeroBetween(f, 8, 40));
  assert.equal(u64(f, o.dram), BigInt(counters.dramBytes));
  assert.equal(u64(f, o.l1), BigInt(counters.l1Bytes));
  assert.equal(u64(f, o.l1Small), BigInt(counters.l1SmallBytes));
  assert.equal(u64(f, o.trace), BigInt(counters.traceBytes));
  assert.equal(u64(f, o.cb), BigInt(counters.cbBytes));
  assert.equal(u64(f, o.kernel), BigInt(counters.kernelBytes));
  assert.ok(zeroBetween(f, 88, 144));
});

test("112-byte RESPONSE: four counters at 40..64; CB and KERNEL have no slot; zeros after 72", () => {
  const f = encodeLegacyResponse(112, 2, counters);
  const o = RESPONSE_OFFSETS[112];
  assert.equal(f.length, 112);
  assert.equal(u8(f, 0), TYPE.RESPONSE);
  assert.equal(i32(f, 4), 2);
  assert.equal(u64(f, o.dram), BigInt(counters.dramBytes));
  assert.equal(u64(f, o.l1), BigInt(counters.l1Bytes));
  assert.equal(u64(f, o.l1Small), BigInt(counters.l1SmallBytes));
  assert.equal(u64(f, o.trace), BigInt(counters.traceBytes));
  assert.ok(zeroBetween(f, 72, 112));
});

test("72-byte RESPONSE: the four counters fill 40..71, the whole frame", () => {
  const f = encodeLegacyResponse(72, 4, counters);
  const o = RESPONSE_OFFSETS[72];
  assert.equal(f.length, 72);
  assert.equal(u8(f, 0), TYPE.RESPONSE);
  assert.equal(i32(f, 4), 4);
  assert.ok(zeroBetween(f, 8, 40));
  assert.equal(u64(f, o.dram), BigInt(counters.dramBytes));
  assert.equal(u64(f, o.l1), BigInt(counters.l1Bytes));
  assert.equal(u64(f, o.l1Small), BigInt(counters.l1SmallBytes));
  assert.equal(u64(f, o.trace), BigInt(counters.traceBytes));
});

test("72-byte DEVICE_INFO_RESPONSE: no device-info field fits; type and device id only", () => {
  for (const answer of [{ numDevices: 3 }, { info: undefined }] as const) {
    const f = encodeLegacyDeviceInfoResponse(72, -1, answer);
    assert.equal(f.length, 72);
    assert.equal(u8(f, 0), TYPE.DEVICE_INFO_RESPONSE);
    assert.equal(i32(f, 4), -1);
    assert.ok(zeroBetween(f, 8, 72));
  }
});

test("a frame size of no layout is refused with LEGACY_INVALID_VALUE", () => {
  assert.throws(
    () => encodeLegacyResponse(128 as 144, 0, counters),
    (e: Error & { code?: string }) => e.code === "LEGACY_INVALID_VALUE" && /72, 112 or 144/.test(e.message),
  );
});

test("RESPONSE echoes a negative device id and clamps negative counters to 0", () => {
  const f = encodeLegacyResponse(144, -3, { ...counters, dramBytes: -10 });
  assert.equal(i32(f, 4), -3);
  assert.equal(u64(f, 40), 0n);
});

const wormhole = {
  archType: 2 as const,
  numDramChannels: 12,
  dramSizePerChannelBytes: 1 << 30,
  l1SizePerCoreBytes: 1_499_136,
  totalDramBytes: 12 * 2 ** 30,
  totalL1Bytes: 1_499_136 * 64,
};

for (const frameBytes of [112, 144] as const) {
  const o = RESPONSE_OFFSETS[frameBytes];

  test(`${frameBytes}-byte DEVICE_INFO_RESPONSE for a device: each field at its documented offset`, () => {
    const f = encodeLegacyDeviceInfoResponse(frameBytes, 1, { info: wormhole });
    assert.equal(f.length, frameBytes);
    assert.equal(u8(f, 0), TYPE.DEVICE_INFO_RESPONSE);
    assert.equal(i32(f, 4), 1);
    assert.ok(zeroBetween(f, 8, o.totalDram));
    assert.equal(u64(f, o.totalDram), BigInt(wormhole.totalDramBytes));
    assert.equal(u64(f, o.totalL1), BigInt(wormhole.totalL1Bytes));
    assert.equal(u32(f, o.arch), 2);
    assert.equal(u32(f, o.channels), 12);
    assert.equal(u32(f, o.dramPerChannel), 1 << 30);
    assert.equal(u32(f, o.l1PerCore), 1_499_136);
    assert.equal(u32(f, o.isAvailable), 1);
    assert.equal(u32(f, o.numDevices), 0);
    if (frameBytes === 144) assert.ok(zeroBetween(f, 128, 144), "ring-buffer fields and pad3 are 0");
  });

  test(`${frameBytes}-byte DEVICE_INFO_RESPONSE to device -1: num_devices and is_available`, () => {
    const f = encodeLegacyDeviceInfoResponse(frameBytes, -1, { numDevices: 8 });
    assert.equal(u8(f, 0), TYPE.DEVICE_INFO_RESPONSE);
    assert.equal(i32(f, 4), -1);
    assert.equal(u32(f, o.numDevices), 8);
    assert.equal(u32(f, o.isAvailable), 1);
    assert.ok(zeroBetween(f, 8, o.isAvailable));
    const none = encodeLegacyDeviceInfoResponse(frameBytes, -1, { numDevices: 0 });
    assert.equal(u32(none, o.isAvailable), 0);
  });

  test(`${frameBytes}-byte DEVICE_INFO_RESPONSE to an unknown device: zeroed`, () => {
    const f = encodeLegacyDeviceInfoResponse(frameBytes, 42, { info: undefined });
    assert.equal(u8(f, 0), TYPE.DEVICE_INFO_RESPONSE);
    assert.equal(i32(f, 4), 42);
    assert.ok(zeroBetween(f, 8, frameBytes));
  });

  test(`${frameBytes}-byte request encoder matches the hand-built frame and round-trips (and at 72 bytes)`, () => {
    const r = { type: TYPE.KERNEL_LOAD, deviceId: 3, size: 12288, bufferType: 1, pid: 777, bufferId: 99 };
    const mine = encodeLegacyRequest(frameBytes, {
      type: 10,
      deviceId: 3,
      sizeBytes: 12288,
      bufferType: 1,
      processId: 777,
      bufferId: 99,
    });
    assert.deepEqual(mine, request(frameBytes, r));
    const rec = recording();
    new LegacyFrameDecoder({ frame: frameBytes }, rec).push(mine);
    assert.equal(rec.messages[0]!.bufferId, 99);
    const short = encodeLegacyRequest(72, rec.messages[0]!);
    assert.deepEqual(short, request(72, r));
  });
}

test("u32 fields saturate (a 4 GiB Blackhole DRAM channel does not fit the original u32)", () => {
  const f = encodeLegacyDeviceInfoResponse(144, 0, {
    info: { ...wormhole, archType: 3, dramSizePerChannelBytes: 4 * 2 ** 30 },
  });
  assert.equal(u32(f, RESPONSE_OFFSETS[144].dramPerChannel), 0xffffffff);
});

test("encoding into a caller's buffer zero-fills it first (no stale bytes from the previous frame)", () => {
  const out = new Uint8Array(144).fill(0xee);
  encodeLegacyResponse(144, 0, counters, out);
  encodeLegacyDeviceInfoResponse(144, 9, { info: undefined }, out);
  assert.ok(zeroBetween(out, 8, 144));
});
