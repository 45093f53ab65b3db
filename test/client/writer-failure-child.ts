/**
 * Child program for writer-failure.test: a client whose writer thread is made to fail (argument 4: "throw"
 * or "exit") once connected; the program goes on recording, then returns without flush() or close(). The
 * process must neither crash (an uncaught exception on the writer thread stays there) nor hang. Does
 * nothing unless run with the marker argument, because the test runner may load every file under test/.
 */
import { AllocationClient } from "../../src/client/allocation-client.js";
import { clientTestHooks } from "../../src/client/test-hooks.js";
import type { WriterThread } from "../../src/client/writer-thread.js";

export const WRITER_FAILURE_CHILD_MARKER = "--allocwatch-writer-failure-child";

if (process.argv[2] === WRITER_FAILURE_CHILD_MARKER) {
  const socketPath = process.argv[3]!;
  const fault = process.argv[4] as "throw" | "exit";
  let thread: WriterThread | undefined;
  clientTestHooks.onWriterStarted = (started) => {
    thread ??= started;
  };
  const client = new AllocationClient({
    socketPath,
    devices: [{ deviceId: 0, name: "d0", architecture: "TINY", capacityBytes: [0, 0, 0, 0, 0, 0, 0] }],
    onError: (error) => {
      const restarting = "restarting" in error && error.restarting ? " restarting" : "";
      process.stdout.write(`error ${error.code}${restarting}\n`);
    },
  });
  let seq = 0;
  const record = (events: number) => {
    for (let i = 0; i < events; i++) {
      seq++;
      client.record(seq % 2 === 1 ? 1 : 2, 0, 0, seq, (seq + 1) >> 1, 64 * ((seq + 1) >> 1), 64, seq);
    }
  };
  const started = Date.now();
  const whenReady = setInterval(() => {
    if (client.state !== "ready" && Date.now() - started < 5000) return;
    clearInterval(whenReady);
    record(1000);
    thread?.inject(fault);
    const whenFailed = setInterval(() => {
      record(100);
      if (client.counters.writerFailures === 0 && Date.now() - started < 10_000) return;
      clearInterval(whenFailed);
      record(100_000);
      process.stdout.write(`recorded 100000 after the failure, in state ${client.state}\n`);
    }, 1);
  }, 2);
}
