// A legacy connection keeps its socket open whatever happens on it: quarantines are logged once per
// connection (every episode counted), and a defect of ours while handling a frame stops decoding that
// connection (logged) but neither closes it nor throws into the server. Only stopping the server
// closes it (and stopping does not wait for legacy peers to leave).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { test } from "node:test";
import pino from "pino";
import { LegacyConnection, type LegacyConnectionHandler } from "../../src/server/legacy/connection.js";
import { LegacyConnectionIdentity } from "../../src/server/legacy/connection-identity.js";
import { waitFor } from "../support/wait-for.js";
import { RawLegacyClient, startLegacyServer } from "./legacy-server.js";
import { concat, RESPONSE_OFFSETS, request, TYPE, u64 } from "./wire.js";

const pid = process.pid;
const alloc = (size: number, bufferId: number) =>
  request(144, { type: TYPE.ALLOC, deviceId: 0, size, bufferType: 0, pid, bufferId });
const query = request(144, { type: TYPE.QUERY, deviceId: 0, size: 0, bufferType: 0, pid: 0, bufferId: 0 });

function capturingLogger() {
  const records: { level: number; msg: string; err?: { message: string } }[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n")) if (line !== "") records.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), records };
}

test("two quarantines on one connection: two anomalies, one log line", async (t) => {
  const { logger, records } = capturingLogger();
  const server = await startLegacyServer({ frame: 144 }, { logger });
  t.after(() => server.stop());
  const c = await server.connectLegacy();
  const garbage = new Uint8Array(50).fill(0xee);
  await c.write(concat([alloc(100, 0x1), garbage, alloc(200, 0x2), garbage, alloc(300, 0x3), query]));
  assert.equal(u64(await c.read(144), RESPONSE_OFFSETS[144].dram), 600n);
  assert.equal((await server.anomalies()).byKind["LEGACY_QUARANTINE"], 2);
  assert.equal(records.filter((r) => /lost the frame grid/.test(r.msg)).length, 1);
  c.close();
});

test("the server stops while legacy connections are open (it closes them)", { timeout: 10_000 }, async () => {
  const server = await startLegacyServer({ frame: 144 });
  const c = await server.connectLegacy();
  await c.write(alloc(100, 0x1));
  await c.write(query);
  await c.read(144);
  await server.stop();
  await c.closed;
});

test("a defect while handling a frame: logged, decoding stops, the socket stays open", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "aw-legacy-bug-"));
  const { logger, records } = capturingLogger();
  let messages = 0;
  let closed = false;
  const handler: LegacyConnectionHandler = {
    received() {},
    message() {
      messages++;
      if (messages === 2) throw new Error("a defect in the adapter");
    },
    badFrame() {},
    quarantined() {},
    truncated() {},
    overBudget() {},
    closed() {
      closed = true;
    },
  };
  const accepted: Socket[] = [];
  const listener = createServer((socket) => {
    accepted.push(socket);
    new LegacyConnection(
      socket,
      new LegacyConnectionIdentity(undefined, false),
      { frame: 144, detectIdleMs: 25, replyPauseBytes: 65536, maxReplyBytes: 1 << 20 },
      handler,
      logger,
    );
  });
  const path = join(dir, "s.sock");
  await new Promise<void>((resolve) => listener.listen(path, resolve));
  t.after(() => {
    listener.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const c = await RawLegacyClient.connect(path);
  await c.write(concat([alloc(1, 1), alloc(2, 2), alloc(3, 3)]));
  await waitFor(() => records.some((r) => /internal error while handling a legacy frame/.test(r.msg)), {
    what: "the defect to be logged",
  });
  assert.equal(messages, 2, "nothing decoded after the defect");
  await c.write(alloc(4, 4)); // read and discarded: the peer's sends keep succeeding
  await c.write(alloc(5, 5));
  assert.equal(messages, 2);
  assert.equal(closed, false, "the socket is not closed by the server");
  c.close();
  await waitFor(() => closed, { what: "the peer's close to be seen" });
});
