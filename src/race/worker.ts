/**
 * Worker-thread entry of the race workload: attaches to the shared devices, waits for every worker at the
 * start gate, runs its share of the workload with the strategy's steps and reports on the run's channel.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Device, type SharedDeviceHandle } from "../device/device.js";
import { type HandoffHandle, HandoffStack } from "./handoff.js";
import { ReportChannel } from "./report-channel.js";
import { type ReportLogHandle, SharedReportLog } from "./report-log.js";
import { StartGate } from "./start-gate.js";
import { type ReportSink, runWorkload, type WorkloadCounts, type WorkloadParams } from "./workload.js";

/** How this worker's reports leave it. */
export type WorkerChannel =
  /** Tracking off: nothing is reported. */
  | { kind: "none" }
  /** Appended to a log: the process's one locked log (fifo), or this worker's own queue (async-queue). */
  | { kind: "log"; log: ReportLogHandle }
  /** This worker's own connection: batches posted to the main thread (per-thread). */
  | { kind: "port"; recordsPerBatch: number };

/** What the main thread passes in `workerData`. */
export interface RaceWorkerData {
  devices: SharedDeviceHandle[];
  /** The strategy's mutex words: 0 global, 1 + d device d. */
  lockWords: SharedArrayBuffer;
  handoff: HandoffHandle;
  params: WorkloadParams;
  channel: WorkerChannel;
  /** StartGate memory and party count: all workers start the workload together. */
  gate: SharedArrayBuffer;
  parties: number;
}

/** Messages a race worker posts. */
export type RaceWorkerMessage =
  | { kind: "reports"; records: Float64Array }
  | { kind: "done"; counts: WorkloadCounts; elapsedMs: number };

const port = parentPort;
if (port === null) throw new Error("race worker must run in a worker thread");
const data = workerData as RaceWorkerData;
const post = (message: RaceWorkerMessage, transfer?: ArrayBuffer[]): void =>
  port.postMessage(message, transfer);

const devices = data.devices.map((handle) => Device.attach(handle));
const handoff = HandoffStack.attach(data.handoff);
let sink: ReportSink = () => {};
let flush = (): void => {};
if (data.channel.kind === "log") {
  const log = SharedReportLog.attach(data.channel.log);
  sink = (op, d, t, seq, id, address, size, perBank) => log.append(op, d, t, seq, id, address, size, perBank);
} else if (data.channel.kind === "port") {
  const channel = new ReportChannel(
    (records) => post({ kind: "reports", records }, [records.buffer as ArrayBuffer]),
    data.channel.recordsPerBatch,
  );
  sink = (op, d, t, seq, id, address, size, perBank) =>
    channel.report(op, d, t, seq, id, address, size, perBank);
  flush = () => channel.flush();
}
new StartGate(data.gate, data.parties).arriveAndWait();
const started = performance.now();
const counts = runWorkload(devices, new Int32Array(data.lockWords), sink, handoff, data.params);
flush();
post({ kind: "done", counts, elapsedMs: performance.now() - started });
