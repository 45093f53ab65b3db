// DUMP_REMAINING / DUMP_KERNELS print readable tables to the server's stdout (as the original did), one
// log line says so; a 72-byte DUMP_REMAINING (dump_remaining_buffers.py: one frame, then close) is
// recognised by auto-detection. The reorder window is wired through startServer (its clock injected: the
// test moves time past the window instead of sleeping).
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import pino from "pino";
import { remainingReport } from "../../src/server/legacy/reports.js";
import { ManualTimers } from "../../src/server/timers.js";
import { waitFor } from "../support/wait-for.js";
import { startAdapter } from "./adapter-fixture.js";
import { type LegacyTestServer, startLegacyServer } from "./legacy-server.js";
import { concat, RESPONSE_OFFSETS, request, TYPE, u64 } from "./wire.js";

const pid = process.pid;
const msg = (type: number, deviceId: number, size: number, bufferType: number, bufferId: number) =>
  request(144, { type, deviceId, size, bufferType, pid, bufferId });
const dump = (frameBytes: 72 | 112 | 144, type: number) =>
  request(frameBytes, { type, deviceId: 0, size: 0, bufferType: 0, pid: 0, bufferId: 0 });

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

function capturingStdout(): { stdout: Writable; text: () => string } {
  let text = "";
  const stdout = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { stdout, text: () => text };
}

test("a 72-byte DUMP_REMAINING, then close (dump_remaining_buffers.py), auto layout: the empty table", async (t) => {
  const out = capturingStdout();
  const server = await startLegacyServer({ frame: "auto" }, { stdout: out.stdout });
  t.after(() => server.stop());
  const c = await server.connectLegacy();
  await c.write(dump(72, TYPE.DUMP_REMAINING));
  c.close();
  await waitFor(() => out.text().includes("perfect cleanup"), { what: "the DUMP_REMAINING table" });
  assert.match(out.text(), /║ +REMAINING ALLOCATED BUFFERS +║/);
  assert.match(out.text(), /Total tracked allocations: 0\n✓ No buffers remaining - perfect cleanup!\n/);
  assert.equal((await server.anomalies()).total, 0, "no LEGACY_TRUNCATED_FRAME: the frame was whole");
});

test("DUMP_REMAINING (72 bytes) and DUMP_KERNELS (144 bytes) print the live allocations; no reply", async (t) => {
  const { logger, records } = capturingLogger();
  const out = capturingStdout();
  const server: LegacyTestServer = await startLegacyServer({ frame: "auto" }, { logger, stdout: out.stdout });
  t.after(() => server.stop());
  const c = await server.connectLegacy();
  await c.write(concat([msg(TYPE.ALLOC, 2, 4096, 0, 0xabc000), msg(TYPE.KERNEL_LOAD, 2, 12288, 1, 0x77)]));
  await c.write(msg(TYPE.QUERY, 2, 0, 0, 0));
  await c.read(144); // both applied

  const dumper = await server.connectLegacy();
  await dumper.write(dump(72, TYPE.DUMP_REMAINING));
  dumper.close();
  await waitFor(() => out.text().includes("Buffer 0xabc000"), { what: "the DUMP_REMAINING table" });
  const remaining = out.text();
  assert.match(remaining, /Total tracked allocations: 2/);
  assert.match(remaining, /Device 2:\n {2}DRAM: 1 buffers, 0\.00 MB total\n {4}- Buffer 0xabc000: 4\.00 KB/);
  assert.match(remaining, new RegExp(`Buffer 0xabc000: 4\\.00 KB \\(PID ${pid}\\)`));
  assert.match(remaining, / {2}KERNEL: 1 buffers, 0\.01 MB total/);

  await c.write(msg(TYPE.DUMP_KERNELS, 0, 0, 0, 0));
  await waitFor(() => out.text().includes("DETAILED KERNEL ALLOCATIONS"), { what: "the DUMP_KERNELS table" });
  const kernels = out.text().slice(remaining.length);
  assert.match(kernels, /Total kernel allocations: 1/);
  assert.match(kernels, /Device 2 - Total: 0\.01 MB \(1 kernels\)/);
  assert.match(kernels, /Kernel ID +Size KB +Owner PID +Age s/);
  assert.match(kernels, new RegExp(`0x77 +12\\.00 +${pid} +0\\n`));
  // One log line per dump, not the table.
  assert.deepEqual(
    records.filter((r) => r.report !== undefined).map((r) => [r.report, r.msg]),
    [
      ["DUMP_REMAINING", "legacy DUMP_REMAINING report printed to stdout"],
      ["DUMP_KERNELS", "legacy DUMP_KERNELS report printed to stdout"],
    ],
  );
  // Replies on one connection come in request order: had the dump answered, its bytes would come first.
  await c.write(msg(TYPE.QUERY, 2, 0, 0, 0));
  const reply = await c.read(144);
  assert.equal(reply[0], TYPE.RESPONSE, "dumps send no reply");
  assert.equal(u64(reply, RESPONSE_OFFSETS[144].kernel), 12288n, "dumps send no reply");
  c.close();
});

test("a report is bounded: past its line limit the rest is one '... n more lines' line", async (t) => {
  const fixture = await startAdapter({ frame: 144 }, { stdout: capturingStdout().stdout });
  t.after(() => fixture.stop());
  const c = await fixture.connect();
  const frames: Uint8Array[] = [];
  for (let device = 0; device < 12; device++) frames.push(msg(TYPE.ALLOC, device, 4096, device % 5, 0x1000));
  await c.write(concat([...frames, msg(TYPE.QUERY, 0, 0, 0, 0)]));
  await c.read(144);
  const full = remainingReport(fixture.registry, Date.now());
  assert.ok(full.length > 40, `${full.length} lines`);
  const bounded = remainingReport(fixture.registry, Date.now(), 10);
  assert.equal(bounded.length, 11);
  assert.deepEqual(bounded.slice(0, 10), full.slice(0, 10));
  assert.equal(bounded[10], `... ${full.length - 10} more lines`);
  c.close();
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
