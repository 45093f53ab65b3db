// Bad frames on a real socket: counted by kind in the API, and never the end of the connection — bad
// frames on the grid are skipped, garbage is quarantined up to the next plausible frame, a stream in
// another layout is read as nothing it did not say; other connections never notice.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { waitFor } from "../support/wait-for.js";
import { type LegacyTestServer, type RawLegacyClient, startLegacyServer } from "./legacy-server.js";
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

async function dram(deviceId: number, c?: RawLegacyClient): Promise<bigint> {
  const client = c ?? (await server.connectLegacy());
  await client.write(query(deviceId));
  const r = await client.read(144);
  if (c === undefined) client.close();
  return u64(r, RESPONSE_OFFSETS[144].dram);
}

async function kindCount(kind: string): Promise<number> {
  return (await server.anomalies()).byKind[kind] ?? 0;
}

/** The connection is still open: a round trip on it works. */
async function stillOpen(c: RawLegacyClient, deviceId: number): Promise<bigint> {
  return dram(deviceId, c);
}

test("unknown types are skipped and counted; the connection carries on", async () => {
  const before = await kindCount("LEGACY_BAD_FRAME");
  const c = await server.connectLegacy();
  await c.write(concat([typed(13), alloc(0, 100, 0x10), typed(255), query(0)]));
  const r = await c.read(144);
  assert.equal(u64(r, RESPONSE_OFFSETS[144].dram), 100n);
  assert.equal((await kindCount("LEGACY_BAD_FRAME")) - before, 2);
  c.close();
});

test("any number of bad frames: the connection stays open and the frames after them apply", async () => {
  // (It used to be closed at the tenth, which killed a tt-metal client with SIGPIPE.)
  const c = await server.connectLegacy();
  const bad: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) bad.push(typed(20 + i));
  await c.write(concat([...bad, alloc(2, 5000, 0x20)]));
  assert.equal(await stillOpen(c, 2), 5000n);
  c.close();
});

test("garbage mid-stream is quarantined: counted once, the frames after it apply, the connection stays", async () => {
  const before = await kindCount("LEGACY_QUARANTINE");
  const c = await server.connectLegacy();
  const garbage = new Uint8Array(300).fill(0xab);
  await c.write(concat([alloc(1, 100, 0x100), garbage, alloc(1, 200, 0x200), alloc(1, 300, 0x300)]));
  assert.equal(await stillOpen(c, 1), 600n);
  assert.equal((await kindCount("LEGACY_QUARANTINE")) - before, 1);
  c.close();
});

test("a 112-byte client on a server fixed at 144: quarantined, nothing misread, never closed", async () => {
  const before = await kindCount("LEGACY_QUARANTINE");
  const c = await server.connectLegacy();
  const frames = [];
  for (let i = 0; i < 20; i++) {
    frames.push(
      request(112, { type: TYPE.ALLOC, deviceId: 3, size: 64 + i, bufferType: 0, pid, bufferId: 0x40 * i }),
    );
  }
  await c.write(concat(frames));
  // Still open, and back on the grid at the first frame of the right size (found when the peer waits).
  assert.equal(await stillOpen(c, 3), 0n, "none of the 112-byte frames was read as a 144-byte one");
  assert.equal((await kindCount("LEGACY_QUARANTINE")) - before, 1);
  c.close();
});

test("garbage on one connection does not disturb another one mid-stream", async () => {
  const good = await server.connectLegacy();
  await good.write(alloc(4, 300, 0x30));
  const bad = await server.connectLegacy();
  await bad.write(new Uint8Array(144).fill(0xff));
  await good.write(concat([alloc(4, 200, 0x31), query(4)]));
  const r = await good.read(144);
  assert.equal(u64(r, RESPONSE_OFFSETS[144].dram), 500n);
  // The garbage connection is open too, and back on the grid once a frame follows.
  await bad.write(concat([alloc(4, 50, 0x32), query(4)]));
  assert.equal(u64(await bad.read(144), RESPONSE_OFFSETS[144].dram), 550n);
  good.close();
  bad.close();
});

test("invalid device, size, buffer type and pid are counted by kind and ignored", async () => {
  const beforeKinds = (await server.anomalies()).byKind;
  const c = await server.connectLegacy();
  await c.write(
    concat([
      alloc(0x10000, 100, 0x1), // device above 65534
      alloc(-1, 100, 0x2),
      alloc(6, 0, 0x3), // size 0
      alloc(6, 101 * 2 ** 30, 0x4), // over 100 GiB
      request(144, { type: TYPE.ALLOC, deviceId: 6, size: 64, bufferType: 5, pid, bufferId: 0x5 }),
      request(144, { type: TYPE.ALLOC, deviceId: 6, size: 64, bufferType: 0, pid: 0, bufferId: 0x6 }),
      request(144, {
        type: TYPE.ALLOC,
        deviceId: 6,
        size: 64,
        bufferType: 0,
        pid: 0x3ffffff0,
        bufferId: 0x7,
      }),
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
  assert.equal(delta("INVALID_PID"), 2, "pid 0 and a pid above 4194304");
  c.close();
});

test("the stream ending inside a frame is counted as a bad frame", async () => {
  const before = await kindCount("LEGACY_BAD_FRAME");
  const c = await server.connectLegacy();
  await c.write(alloc(5, 100, 0x500).subarray(0, 60));
  c.close();
  const detail = await waitFor(
    async () =>
      (await server.anomalies()).recent.find((a) => /LEGACY_TRUNCATED_FRAME/.test(a.detail))?.detail,
    { what: "the truncated frame to be counted" },
  );
  assert.match(detail, /ended 60 bytes into a frame/);
  assert.equal((await kindCount("LEGACY_BAD_FRAME")) - before, 1);
});
