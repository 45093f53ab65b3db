// The server closes a connection whose frames name a device its HELLO did not announce (docs/PROTOCOL.md
// §3.3). A client must therefore never send one: record() for such a device is counted as invalid and
// dropped on the workload's side, and the connection with the real server stays up.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { startTestServer } from "../server/test-server.js";
import { waitFor } from "../support/wait-for.js";
import { DeviceWorkload } from "./device-workload.js";

test("record() for a device the client did not announce is invalid, and the connection stays up", async (t) => {
  const server = await startTestServer();
  t.after(() => server.stop());
  const workload = new DeviceWorkload([0]);
  const client = new AllocationClient({ socketPath: server.socketPath, ...workload.clientOptions() });
  t.after(() => client.close());
  workload.attach(client);
  await waitFor(() => client.state === "ready", { what: "the client to be welcomed" });
  client.record(1, 5, 0, 1, 1, 4096, 64, 0);
  workload.churn(50);
  await client.flush();
  assert.equal(client.counters.invalid, 1);
  assert.equal(client.counters.disconnects, 0, "the server had no reason to close the connection");
  // flush() hands the events to the kernel; the server applies them a moment later.
  const devices = await waitFor(
    () => {
      const ids = server.queries
        .summary()
        .processes.find((p) => p.sessionId === client.sessionId)
        ?.devices.map((d) => d.id);
      return ids !== undefined && ids.length > 0 ? ids : undefined;
    },
    { what: "the client's session with its device" },
  );
  assert.deepEqual(devices, [0]);
});
