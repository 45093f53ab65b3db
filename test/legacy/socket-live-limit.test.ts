// The live-allocation limits on the legacy socket: an ALLOC past the per-session limit is not stored and
// its key not kept (the adapter's live-key table never holds more keys than the registry holds
// allocations of the process), the device shows over its limit, and a FREE of a refused buffer is no
// UNKNOWN_FREE (the legacy protocol has no snapshots: the mark stays until the process's session ends).
import assert from "node:assert/strict";
import { test } from "node:test";
import { type LegacyTestServer, startLegacyServer } from "./legacy-server.js";
import { concat, request, TYPE } from "./wire.js";

const pid = process.pid;
const msg = (type: number, bufferId: number, size = 4096) =>
  request(144, { type, deviceId: 0, size, bufferType: 0, pid, bufferId });

test("legacy ALLOCs past the per-session limit: refused, keys not kept, their FREEs excused", async (t) => {
  const server: LegacyTestServer = await startLegacyServer(
    { frame: 144 },
    { maxLiveAllocations: 100, maxLiveAllocationsPerSession: 4 },
  );
  t.after(() => server.stop());
  const c = await server.connectLegacy();
  const buffers = [1, 2, 3, 4, 5, 6].map((i) => 0x10000 * i);
  await c.write(concat([...buffers.map((b) => msg(TYPE.ALLOC, b)), msg(TYPE.QUERY, 0, 0)]));
  await c.read(144); // every ALLOC before the QUERY is applied

  const session = [...server.sessions.values()][0]!;
  const process_ = server.legacy!.processOf(session)!;
  assert.equal(process_.liveKeys, 4, "the refused buffers' keys are not kept");
  const entry = (await server.summary()).processes[0]!.devices[0]!;
  assert.deepEqual([entry.allocations, entry.overLimit, entry.refusedAllocations], [4, true, 2]);
  assert.equal(server.legacy!.stats.refusedAllocations, 2);

  // FREEs of a refused buffer and of a stored one: no anomaly; the stored one is released.
  await c.write(
    concat([msg(TYPE.FREE, buffers[5]!, 0), msg(TYPE.FREE, buffers[0]!, 0), msg(TYPE.QUERY, 0, 0)]),
  );
  await c.read(144);
  assert.equal((await server.anomalies()).total, 0, "no UNKNOWN_FREE for the refused buffer");
  assert.equal(server.legacy!.stats.excusedFrees, 1);
  const after = (await server.summary()).processes[0]!.devices[0]!;
  assert.deepEqual([after.allocations, after.overLimit], [3, true], "legacy stays marked: no snapshots");
  assert.equal(process_.liveKeys, 3);
  c.close();
});
