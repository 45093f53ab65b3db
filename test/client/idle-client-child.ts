/**
 * Child program for process-exit.test: creates a client, records a few events and returns without
 * closing it. The process must exit by itself. Does nothing unless run with the marker argument, because
 * the test runner may load every file under test/.
 */
import { AllocationClient } from "../../src/client/allocation-client.js";

export const CHILD_MARKER = "--allocwatch-idle-client-child";

if (process.argv[2] === CHILD_MARKER) {
  const socketPath = process.argv[3];
  const client = new AllocationClient({
    socketPath,
    devices: [{ deviceId: 0, name: "d0", architecture: "TINY", capacityBytes: [0, 0, 0, 0, 0, 0, 0] }],
    reconnectInitialMs: 10,
  });
  for (let seq = 1; seq <= 100; seq++) client.record(1, 0, 0, seq, seq, seq * 64, 64, seq);
  process.stdout.write(`recorded ${client.sessionId}\n`);
}
