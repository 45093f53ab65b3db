// Server log lines name the client's pid `clientPid`: `pid` is the logger's own (the server process),
// and a line with two `pid` keys is ambiguous JSON (most readers keep the last one silently).
import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { startLegacyServer } from "../legacy/legacy-server.js";
import { request, TYPE } from "../legacy/wire.js";
import { waitFor } from "../support/wait-for.js";

const DEVICE = { deviceId: 0, name: "d0", architecture: "TINY", capacityBytes: [0, 0, 0, 0, 0, 0, 0] };

test("every server log line has one pid (the server's); lines about a client carry clientPid", async () => {
  const lines: string[] = [];
  // As server.ts builds its own logger: pid in the base of every line.
  const logger = pino({ level: "debug", base: { pid: process.pid } }, { write: (line) => lines.push(line) });
  const server = await startLegacyServer({}, { logger });
  const client = new AllocationClient({ socketPath: server.socketPath, devices: [DEVICE] });
  try {
    await waitFor(() => client.state === "ready", { what: "the native client's WELCOME" });
    client.record(2, 0, 0, 1, 42, 0, 64, 0); // FREE of an allocation never made: an anomaly line
    await client.close();
    const legacy = await server.connectLegacy();
    await legacy.write(
      request(112, {
        type: TYPE.ALLOC,
        deviceId: 0,
        size: 4096,
        bufferType: 0,
        pid: process.pid,
        bufferId: 7,
      }),
    );
    await waitFor(() => lines.some((l) => l.includes("legacy process attached")), {
      what: "the legacy process to attach",
    });
    legacy.close();
    await legacy.closed;
  } finally {
    await server.stop();
  }
  const parsed = lines.map((line) => JSON.parse(line));
  for (const msg of ["session opened", "connection closed", "session released", "legacy process attached"]) {
    const named = parsed.filter((fields) => fields.msg === msg);
    assert.ok(named.length > 0, `a "${msg}" line was logged: ${lines.join("")}`);
    for (const fields of named) assert.equal(fields.clientPid, process.pid, `${msg} names its client`);
  }
  const anomaly = parsed.find((fields) => fields.anomaly === "UNKNOWN_FREE");
  assert.equal(anomaly?.clientPid, process.pid, "the anomaly line names its client");
  for (const line of lines) {
    assert.equal(line.match(/"pid":/g)?.length ?? 0, 1, `one pid key, the server's: ${line}`);
    assert.equal(JSON.parse(line).pid, process.pid);
  }
});
