/**
 * Entry of the client's writer thread (one per AllocationClient): see RingWriter. workerData carries the
 * ring's SharedArrayBuffer and the batch size; messages carry the rest (writer-messages.ts).
 */
import { parentPort, workerData } from "node:worker_threads";
import { EventRing } from "./event-ring.js";
import { RingWriter } from "./ring-writer.js";
import type { FromWriter, ToWriter } from "./writer-messages.js";

export interface RingWriterData {
  buffer: SharedArrayBuffer;
  batchMaxEvents: number;
  /** Test only (test-hooks.ts "throw"): the thread fails as it starts. */
  failAtStart: boolean;
}

/** Exit code of a writer thread told to exit (test-hooks.ts "exit"). */
export const WRITER_FAULT_EXIT_CODE = 70;

if (parentPort !== null) {
  const port = parentPort;
  const data = workerData as RingWriterData;
  if (data.failAtStart) throw new Error("allocwatch writer thread: failed at start (test fault)");
  const writer = new RingWriter(EventRing.attach(data.buffer), data.batchMaxEvents, (message: FromWriter) =>
    port.postMessage(message),
  );
  port.on("message", (message: ToWriter) => {
    if (message.type !== "fault") writer.handle(message);
    else if (message.how === "exit") process.exit(WRITER_FAULT_EXIT_CODE);
    else throw new Error("allocwatch writer thread: uncaught exception (test fault)");
  });
}
