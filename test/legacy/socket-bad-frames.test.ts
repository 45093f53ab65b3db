// Bad frames on a real socket: counted by kind in the API, the connection closed after the bound or at
// once when off the frame grid, nothing after the failure applied, other connections unaffected.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type LegacyTestServer, startLegacyServer } from "./legacy-server.js";
import { concat, RESPONSE_OFFSETS, request, TYPE, u64 } from "./wire.js";

let server: LegacyTestServer;
before(async () => {
  server = await startLegacyServer({ frame: 144 });
});
after(() => server.stop());

const pid = process.pid;
const alloc = (deviceId: number, size: number, bufferId: number) =>
  request(144, { type: TYPE.ALLOC, deviceId, size, bufferType: 0, pid, bufferId });
const query = (deviceId: number) =>
  request(144, { type: TYPE.QUERY, deviceId, size: 0, bufferType: 0, pid: 0, bufferId: 0 });
function typed(type: number): Uint8Array {
  const f = alloc(0, 1, 1);
  f[0] = type;
  return f;
}

async function dram(deviceId: number): Promise<bigint> {
  const c = await server.connectLegacy();
  await c.write(query(deviceId));
  const r = await c.read(144);
  c.close();
  return u64(r, RESPONSE_OFFSETS[144].dram);
}

test("unknown types are skipped and counted; the connection survives below the bound", async () => {
  const before = (await server.anomalies()).byKind["LEGACY_BAD_FRAME"] ?? 0;
  const c = await server.connectLegacy();
  await c.write(concat([typed(13), alloc(0, 100, 0x10), typed(255), query(0)]));
  const r = await c.read(144);
  assert.equal(u64(r, RESPONSE_OFFSETS[144].dram), 100n);
  const after = (await server.anomalies()).byKind["LEGACY_BAD_FRAME"];
  assert.equal(after - before, 2);
  c.close();
});

test("at the bound the connection is closed and the frames after it are not applied", async () => {
  const c = await server.connectLegacy();
  await c.write(concat([typed(20), typed(21), typed(22), alloc(2, 5000, 0x20), query(2)]));
  await c.closed;
  assert.equal(await dram(2), 0n, "the ALLOC after the third bad frame was never read");
  const summary = await server.anomalies();
  assert.ok(
    summary.recent.some((a) => a.kind === "PROTOCOL_ERROR" && /LEGACY_TOO_MANY_BAD_FRAMES/.test(a.detail)),
  );
});

test("a 112-byte client on a server fixed at 144: closed at the first frame, no misread", async () => {
  const c = await server.connectLegacy();
  const frames = [];
  for (let i = 0; i < 20; i++) {
    frames.push(
      request(112, { type: TYPE.ALLOC, deviceId: 3, size: 64 + i, bufferType: 0, pid, bufferId: 0x40 * i }),
    );
  }
  await c.write(concat(frames));
  await c.closed;
  assert.equal(await dram(3), 0n);
  const summary = await server.anomalies();
  assert.ok(summary.recent.some((a) => /LEGACY_MALFORMED_FRAME/.test(a.detail)));
});

test("garbage on one connection does not disturb another one mid-stream", async () => {
  const good = await server.connectLegacy();
  await good.write(alloc(4, 300, 0x30));
  const bad = await server.connectLegacy();
  await bad.write(new Uint8Array(144).fill(0xff));
  await bad.closed;
  await good.write(concat([alloc(4, 200, 0x31), query(4)]));
  const r = await good.read(144);
  assert.equal(u64(r, RESPONSE_OFFSETS[144].dram), 500n);
  good.close();
});

test("invalid device, size, buffer type and pid are counted by kind and ignored", async () => {
  const beforeKinds = (await server.anomalies()).byKind;
  const c = await server.connectLegacy();
  await c.write(
    concat([
      alloc(8, 100, 0x1), // device 8: not in 0..7 (no devices configured)
      alloc(-1, 100, 0x2),
      alloc(6, 0, 0x3), // size 0
      alloc(6, 101 * 2 ** 30, 0x4), // over 100 GiB
      request(144, { type: TYPE.ALLOC, deviceId: 6, size: 64, bufferType: 5, pid, bufferId: 0x5 }),
      request(144, { type: TYPE.ALLOC, deviceId: 6, size: 64, bufferType: 0, pid: 0, bufferId: 0x6 }),
      query(6),
    ]),
  );
  const r = await c.read(144);
  assert.equal(u64(r, RESPONSE_OFFSETS[144].dram), 0n);
  const kinds = (await server.anomalies()).byKind;
  const delta = (k: string) => (kinds[k] ?? 0) - (beforeKinds[k] ?? 0);
  assert.equal(delta("INVALID_DEVICE_ID"), 2);
  assert.equal(delta("INVALID_SIZE"), 2);
  assert.equal(delta("INVALID_BUFFER_TYPE"), 1);
  assert.equal(delta("INVALID_PID"), 1);
  c.close();
});

test("frames naming a pid that is not running open no session; the connection carries on", async () => {
  const c = await server.connectLegacy();
  const deadPid = 0x3ffffff0; // above any pid_max: never a running process
  const before = (await server.anomalies()).byKind["INVALID_PID"] ?? 0;
  await c.write(
    concat([
      request(144, { type: TYPE.ALLOC, deviceId: 7, size: 64, bufferType: 0, pid: deadPid, bufferId: 0x70 }),
      alloc(7, 32, 0x71),
      query(7),
    ]),
  );
  const r = await c.read(144);
  assert.equal(u64(r, RESPONSE_OFFSETS[144].dram), 32n);
  assert.equal((await server.anomalies()).byKind["INVALID_PID"], before + 1);
  assert.ok(!(await server.summary()).processes.some((p) => p.pid === deadPid));
  c.close();
});
