/**
 * Worker program for event-ring.test: drains an EventRing on its own thread (as the client's writer
 * does), checks every event it reads against the producer's pattern and that seq only grows, and reports
 * when it meets the end marker (ordinal 0xffffffff).
 */
import { parentPort, workerData } from "node:worker_threads";
import { EventRing, EventRingReader, RingItem } from "../../src/client/event-ring.js";

/** What the test hands the worker: the ring, and the position its producer started at. */
export interface RingConsumerData {
  buffer: SharedArrayBuffer;
  startPosition: number;
}

export interface RingConsumerReport {
  events: number;
  /** The consumer's head when it met the end marker (a position: past 2^32 when the ring wrapped there). */
  head: number;
  lastSeq: number;
  faults: number;
  firstFault: string;
}

const END_MARKER = 0xffffffff;

if (parentPort !== null) {
  const port = parentPort;
  const data = workerData as RingConsumerData;
  const reader = new EventRingReader(EventRing.attach(data.buffer));
  reader.resetTo(data.startPosition);
  const report: RingConsumerReport = { events: 0, head: 0, lastSeq: 0, faults: 0, firstFault: "" };
  const check = (
    op: number,
    deviceId: number,
    memoryType: number,
    seq: number,
    allocationId: number,
    address: number,
    sizeBytes: number,
    timestampNs: number,
    contextId: number,
  ) => {
    const expected = [
      seq % 2 === 0 ? 2 : 1,
      seq % 0xffff,
      seq % 7,
      seq,
      seq * 3,
      seq * 64,
      4096,
      seq * 10,
      seq % 5,
    ];
    const got = [op, deviceId, memoryType, seq, allocationId, address, sizeBytes, timestampNs, contextId];
    if (seq <= report.lastSeq || got.some((v, i) => v !== expected[i])) {
      report.faults++;
      if (report.firstFault === "") report.firstFault = `after seq ${report.lastSeq}: ${got.join(",")}`;
    }
    report.lastSeq = seq;
    report.events++;
  };
  const drain = (): void => {
    const wake = reader.wakeValue();
    for (;;) {
      if (reader.available() === 0) break;
      if (reader.itemAt(0) === RingItem.MARKER) {
        const ordinal = reader.markerOrdinal();
        reader.takeMarker();
        if (ordinal === END_MARKER) {
          report.head = reader.head;
          port.postMessage(report);
          return;
        }
        continue;
      }
      reader.take(reader.eventRun(512), check);
    }
    void reader.waitForWake(wake).then(drain);
  };
  port.on("message", () => {});
  drain();
  port.postMessage("ready");
}
