// DUMP_REMAINING / DUMP_KERNELS log their reports; the reorder window is wired through startServer (its
// clock injected: the test moves time past the window instead of sleeping).
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import pino from "pino";
import { ManualTimers } from "../../src/server/timers.js";
import { waitFor } from "../support/wait-for.js";
import { type LegacyTestServer, startLegacyServer } from "./legacy-server.js";
import { concat, RESPONSE_OFFSETS, request, TYPE, u64 } from "./wire.js";

const pid = process.pid;
const msg = (type: number, deviceId: number, size: number, bufferType: number, bufferId: number) =>
  request(144, { type, deviceId, size, bufferType, pid, bufferId });

function capturingLogger(): { logger: pino.Logger; records: { report?: string; msg: string }[] } {
  const records: { report?: string; msg: string }[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n")) if (line !== "") records.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), records };
}

test("DUMP_REMAINING and DUMP_KERNELS log the live allocations (no reply on the socket)", async () => {
  const { logger, records } = capturingLogger();
  const server: LegacyTestServer = await startLegacyServer({ frame: 144 }, { logger });
  try {
    const c = await server.connectLegacy();
    await c.write(
      concat([
        msg(TYPE.ALLOC, 2, 4096, 0, 0xabc000),
        msg(TYPE.KERNEL_LOAD, 2, 12288, 1, 0x77),
        msg(TYPE.DUMP_REMAINING, 0, 0, 0, 0),
        msg(TYPE.DUMP_KERNELS, 0, 0, 0, 0),
      ]),
    );
    await waitFor(() => records.some((r) => r.report === "DUMP_KERNELS"), {
      what: "the DUMP_KERNELS report",
    });
    const remaining = records.find((r) => r.report === "DUMP_REMAINING")!.msg;
    assert.match(remaining, /Total tracked allocations: 2/);
    assert.match(remaining, /Device 2:\n {2}DRAM: 1 buffers/);
    assert.match(remaining, new RegExp(`Buffer 0xabc000: 4\\.00 KB \\(PID ${pid}`));
    const kernels = records.find((r) => r.report === "DUMP_KERNELS")!.msg;
    assert.match(kernels, /Total kernel allocations: 1/);
    assert.match(kernels, new RegExp(`Kernel ID: 0x77 {2}Size: 12\\.00 KB {2}Owner PID: ${pid}`));
    // Replies on one connection come in request order: if the dumps had answered, their bytes would
    // come before this QUERY's RESPONSE.
    await c.write(msg(TYPE.QUERY, 2, 0, 0, 0));
    const reply = await c.read(144);
    assert.equal(reply[0], TYPE.RESPONSE, "dumps send no reply");
    assert.equal(u64(reply, RESPONSE_OFFSETS[144].dram), 4096n, "dumps send no reply");
    assert.equal(u64(reply, RESPONSE_OFFSETS[144].kernel), 12288n, "dumps send no reply");
    c.close();
  } finally {
    await server.stop();
  }
});

test("reorder window over a real socket: FREE then its late ALLOC cancel out", async () => {
  const clock = new ManualTimers();
  const server = await startLegacyServer({ frame: 144, reorderWindowMs: 200 }, { timers: clock });
  try {
    const c = await server.connectLegacy();
    await c.write(
      concat([
        msg(TYPE.FREE, 0, 0, 0, 0x1000), // overtook its ALLOC
        msg(TYPE.ALLOC, 0, 4096, 0, 0x1000), // the late ALLOC (cancels the held FREE)
        msg(TYPE.ALLOC, 0, 4096, 0, 0x1000), // the reuse of the address
        msg(TYPE.FREE, 0, 0, 0, 0x9000), // a genuinely unknown buffer
        msg(TYPE.QUERY, 0, 0, 0, 0),
      ]),
    );
    const r = await c.read(144);
    assert.equal(u64(r, RESPONSE_OFFSETS[144].dram), 4096n, "one live buffer, reference count 1");
    clock.advance(199);
    assert.equal((await server.anomalies()).byKind["UNKNOWN_FREE"], undefined, "held within the window");
    clock.advance(1);
    const a = await server.anomalies();
    assert.equal(a.byKind["REORDERED_FREE"], 1);
    assert.equal(a.byKind["UNKNOWN_FREE"], 1, "the other held FREE expired as unknown");
    await c.write(concat([msg(TYPE.FREE, 0, 0, 0, 0x1000), msg(TYPE.QUERY, 0, 0, 0, 0)]));
    assert.equal(u64(await c.read(144), RESPONSE_OFFSETS[144].dram), 0n, "no phantom leak");
    c.close();
  } finally {
    await server.stop();
  }
});
