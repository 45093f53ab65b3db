/**
 * Worker-thread entry of the race workload: attaches to the shared device, runs its share of the
 * workload and posts its reports in batches on its own port (its "connection").
 */
import { parentPort, workerData } from "node:worker_threads";
import { Device, type SharedDeviceHandle } from "../device/device.js";
import { type HandoffHandle, HandoffStack } from "./handoff.js";
import { ReportChannel } from "./report-channel.js";
import { StartGate } from "./start-gate.js";
import { runWorkload, type WorkloadParams } from "./workload.js";

/** What the main thread passes in `workerData`. */
export interface RaceWorkerData {
  device: SharedDeviceHandle;
  handoff: HandoffHandle;
  params: WorkloadParams;
  recordsPerBatch: number;
  /** StartGate memory and party count: all workers start the workload together. */
  gate: SharedArrayBuffer;
  parties: number;
}

/** Messages a race worker posts. */
export type RaceWorkerMessage =
  | { kind: "reports"; records: Float64Array }
  | { kind: "progress"; operationsDone: number }
  | { kind: "done"; counts: import("./workload.js").WorkloadCounts };

const port = parentPort;
if (port === null) throw new Error("race worker must run in a worker thread");
const data = workerData as RaceWorkerData;
const post = (message: RaceWorkerMessage, transfer?: ArrayBuffer[]): void =>
  port.postMessage(message, transfer);

const device = Device.attach(data.device);
const handoff = HandoffStack.attach(data.handoff);
const channel = new ReportChannel(
  (records) => post({ kind: "reports", records }, [records.buffer as ArrayBuffer]),
  data.recordsPerBatch,
);
new StartGate(data.gate, data.parties).arriveAndWait();
const counts = runWorkload(device, channel, handoff, data.params, (operationsDone) =>
  post({ kind: "progress", operationsDone }),
);
post({ kind: "done", counts });
