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
}

if (parentPort !== null) {
  const port = parentPort;
  const data = workerData as RingWriterData;
  const writer = new RingWriter(EventRing.attach(data.buffer), data.batchMaxEvents, (message: FromWriter) =>
    port.postMessage(message),
  );
  port.on("message", (message: ToWriter) => writer.handle(message));
}
