// What the adapter's per-frame shortcuts must keep: it reads the clock once per socket chunk and stamps
// that chunk's allocations with it, in whole ms (a whole number reaches the registry unboxed: no garbage
// per frame); remembering the last (connection, pid) → process never lets another pid's frame through.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LiveSlotCursor } from "../../src/server/live-slot-cursor.js";
import type { Registry } from "../../src/server/registry.js";
import type { Session } from "../../src/server/session.js";
import { NO_SLOT } from "../../src/server/slot-index.js";
import { systemTimers } from "../../src/server/timers.js";
import { waitFor } from "../support/wait-for.js";
import { startAdapter } from "./adapter-fixture.js";
import { concat, request, TYPE } from "./wire.js";

/** address → allocation time of every live allocation of the session on device 0. */
function allocationTimes(registry: Registry, session: Session): Map<number, number> {
  const out = new Map<number, number>();
  const cursor = new LiveSlotCursor(registry, session.account.ledgers.get(0)!);
  for (let slot = cursor.next(); slot !== NO_SLOT; slot = cursor.next()) {
    out.set(registry.addressAt(slot), registry.allocatedAtMsAt(slot));
  }
  return out;
}

const alloc = (bufferId: number) =>
  request(144, { type: TYPE.ALLOC, deviceId: 0, size: 4096, bufferType: 0, pid: process.pid, bufferId });

test("a chunk's allocations carry the clock read when it arrived, in whole ms", async (t) => {
  let clockMs = 1_234.75;
  const f = await startAdapter({ frame: 144 }, { timers: { ...systemTimers, nowMs: () => clockMs } });
  t.after(() => f.stop());
  const client = await f.connect();
  t.after(() => client.close());

  await client.write(concat([0x1000, 0x2000, 0x3000].map(alloc)));
  await waitFor(() => f.adapter.stats.allocations === 3, { what: "the first three ALLOCs" });
  clockMs = 98_765.5;
  await client.write(alloc(0x4000));
  await waitFor(() => f.adapter.stats.allocations === 4, { what: "the fourth ALLOC" });

  const session = [...f.sessions.values()][0]!;
  assert.deepEqual(
    [...allocationTimes(f.registry, session)].sort((a, b) => a[0] - b[0]),
    [
      [0x1000, 1_234],
      [0x2000, 1_234],
      [0x3000, 1_234],
      [0x4000, 98_765],
    ],
  );
});

test("in one chunk, a frame naming another process between the peer's own is still refused", async (t) => {
  const f = await startAdapter({ frame: 144 });
  t.after(() => f.stop());
  const client = await f.connect();
  t.after(() => client.close());
  const named = (pid: number, bufferId: number) =>
    request(144, { type: TYPE.ALLOC, deviceId: 0, size: 4096, bufferType: 0, pid, bufferId });
  // The peer is this process (kernel credentials); its parent is alive and another process.
  await client.write(
    concat([named(process.pid, 0x1000), named(process.ppid, 0x2000), named(process.pid, 0x3000)]),
  );
  await waitFor(() => f.adapter.stats.allocations === 2, { what: "the peer's two ALLOCs" });
  await waitFor(() => f.anomalies.count("LEGACY_PID_MISMATCH") === 1, { what: "the mismatch" });
  const session = [...f.sessions.values()][0]!;
  assert.equal(f.sessions.size, 1);
  assert.equal(session.account.pid, process.pid);
  assert.deepEqual(
    [...allocationTimes(f.registry, session).keys()].sort((a, b) => a - b),
    [0x1000, 0x3000],
  );
});
