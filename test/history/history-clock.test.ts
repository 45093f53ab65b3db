// The recorder inside a real server, on an injected clock (ManualTimers and a hand-set wall clock): each
// second is written under its own epoch second, an hour on it is served as 1-min samples, and past the
// retention it is gone. No sleeping: time moves only when the test says.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeEvents } from "../../src/protocol/encode-frame.js";
import type { HistoryResponse } from "../../src/server/api-types.js";
import { ManualTimers } from "../../src/server/timers.js";
import { RawClient } from "../server/raw-client.js";
import { startTestServer } from "../server/test-server.js";
import { waitFor } from "../support/wait-for.js";
import { tempHistoryDir } from "./history-fixtures.js";

const T0 = 1_800_000_000_000;
const HOUR_MS = 3_600_000;

test("seconds written on the injected clock, downsampled after an hour, deleted past the retention", async () => {
  const files = tempHistoryDir();
  const timers = new ManualTimers();
  let now = T0;
  const server = await startTestServer({
    history: { path: files.path, retentionMs: 3 * HOUR_MS },
    timers,
    epochMs: () => now,
    graceMs: 10 * 24 * HOUR_MS,
  });
  const tick = (ms: number) => {
    now += ms;
    timers.advance(ms);
  };
  const get = async (query: string) => (await server.get(`/api/v1/history?${query}`)).body as HistoryResponse;
  const client = await RawClient.handshake(server.socketPath, { name: "clocked" });
  try {
    const alloc = (seq: number, sizeBytes: number) =>
      encodeEvents([
        {
          op: 1,
          seq,
          memoryType: 1,
          allocationId: seq,
          sizeBytes,
          deviceId: 0,
          timestampNs: 0,
          address: seq * 65536,
        },
      ]);
    client.send(alloc(1, 1000));
    await waitFor(() => server.queries.summary().server.eventsApplied === 1, { what: "the first event" });
    tick(1000);
    client.send(alloc(2, 500));
    await waitFor(() => server.queries.summary().server.eventsApplied === 2, { what: "the second event" });
    tick(1000);
    tick(1000);
    const range = `type=L1&from=${T0}&to=${T0 + 5000}`;
    const fine = await get(`${range}&step=1000`);
    assert.deepEqual(
      fine.series[0]!.points.map((p) => [p.t - T0, p.min, p.max, p.last]),
      [
        [0, 0, 1000, 1000],
        [1000, 1000, 1500, 1500],
        [2000, 1500, 1500, 1500],
      ],
    );

    // Two hours on (the series' window is 15 min: the recorder writes what the window still holds, the
    // rest of the gap is simply not recorded), the first minute is one 1-min sample.
    tick(2 * HOUR_MS);
    assert.deepEqual((await get(`${range}&step=1000`)).series, []);
    const coarse = await get(`${range}&step=60000`);
    assert.deepEqual(
      coarse.series[0]!.points.map((p) => [p.t, p.min, p.max, p.last]),
      [[T0, 0, 1500, 1500]],
    );
    const live = coarse.lifetimes.find((l) => l.processName === "clocked");
    assert.equal(live?.endedAtMs, null);

    // Past the retention (3 h) the minute is gone; the recent seconds are there.
    tick(2 * HOUR_MS);
    assert.deepEqual((await get(`${range}&step=60000`)).series, []);
    const recent = await get("type=L1&step=1000");
    assert.equal(recent.series[0]!.points.at(-1)!.last, 1500);
    assert.equal(recent.toMs, now);
  } finally {
    client.destroy();
    await server.stop();
    files.remove();
  }
});
