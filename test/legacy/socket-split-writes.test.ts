// Frames split at every byte boundary across two writes on a real socket are reassembled: after each
// split stream the server's totals (read back with a QUERY) are exactly what the frames say.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventLoopTurns } from "../support/wait-for.js";
import { type LegacyTestServer, startLegacyServer } from "./legacy-server.js";
import { concat, RESPONSE_OFFSETS, request, TYPE, u64 } from "./wire.js";

let server: LegacyTestServer;
before(async () => {
  // A long idle threshold: a cut at byte 112 followed by a pause must not settle auto-detection early.
  server = await startLegacyServer({ frame: "auto", detectIdleMs: 5000 });
});
after(() => server.stop());

const pid = process.pid;

for (const [frameBytes, deviceId] of [
  [144, 0],
  [112, 1],
] as const) {
  test(`${frameBytes}-byte frames split at every byte boundary over a real socket`, async () => {
    const c = await server.connectLegacy();
    const keptBytes = 96;
    // Each round: ALLOC a, ALLOC b, FREE a, QUERY. Only b stays live, so DRAM grows by keptBytes per round.
    const round = (i: number) =>
      concat([
        request(frameBytes, {
          type: TYPE.ALLOC,
          deviceId,
          size: 4096 + i,
          bufferType: 0,
          pid,
          bufferId: 0x100000 + i * 64,
        }),
        request(frameBytes, {
          type: TYPE.ALLOC,
          deviceId,
          size: keptBytes,
          bufferType: 0,
          pid,
          bufferId: 0x900000 + i * 64,
        }),
        request(frameBytes, {
          type: TYPE.FREE,
          deviceId,
          size: 0,
          bufferType: 0,
          pid,
          bufferId: 0x100000 + i * 64,
        }),
        request(frameBytes, { type: TYPE.QUERY, deviceId, size: 0, bufferType: 0, pid: 0, bufferId: 0 }),
      ]);
    const length = round(0).length;
    for (let cut = 1; cut < length; cut++) {
      const bytes = round(cut);
      await c.write(bytes.subarray(0, cut));
      // Let the first part reach the server on its own before the rest follows (the server runs in this
      // process: a turn of the event loop reads what is on its socket; some cuts get an extra turn).
      await eventLoopTurns(cut % 16 === 0 || cut === 112 || cut === 113 ? 2 : 1);
      await c.write(bytes.subarray(cut));
      const reply = await c.read(frameBytes);
      assert.equal(reply[0], TYPE.RESPONSE, `cut ${cut}`);
      assert.equal(u64(reply, RESPONSE_OFFSETS[frameBytes].dram), BigInt(cut * keptBytes), `cut ${cut}`);
    }
    const anomalies = await server.anomalies();
    assert.equal(anomalies.total, 0, JSON.stringify(anomalies.recent.slice(0, 3)));
    c.close();
  });
}
