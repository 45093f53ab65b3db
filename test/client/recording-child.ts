/**
 * Child program for writer-thread.test: creates a client, waits until it is connected, records events
 * and returns without flush() or close(). Its writer thread must still hand every event to the kernel
 * before the process exits, and the process must exit by itself. Does nothing unless run with the
 * marker argument, because the test runner may load every file under test/.
 */
import { AllocationClient } from "../../src/client/allocation-client.js";

export const RECORDING_CHILD_MARKER = "--allocwatch-recording-child";

if (process.argv[2] === RECORDING_CHILD_MARKER) {
  const socketPath = process.argv[3]!;
  const events = Number(process.argv[4]);
  const client = new AllocationClient({
    socketPath,
    devices: [{ deviceId: 0, name: "d0", architecture: "TINY", capacityBytes: [0, 0, 0, 0, 0, 0, 0] }],
  });
  const started = Date.now();
  const whenReady = setInterval(() => {
    if (client.state !== "ready" && Date.now() - started < 5000) return;
    clearInterval(whenReady);
    for (let seq = 1; seq <= events; seq++) {
      client.record(seq % 2 === 1 ? 1 : 2, 0, 0, seq, (seq + 1) >> 1, 64 * ((seq + 1) >> 1), 64, seq);
    }
    process.stdout.write(`recorded ${events} in state ${client.state}\n`);
  }, 2);
}
