// Worker-thread entry: takes over buffers the main thread allocated on a shared device and frees them,
// reporting the FREEs through this thread's own client (same session, own connection).
import { parentPort, workerData } from "node:worker_threads";
import { Buffer } from "../device/buffer.js";
import { Device } from "../device/device.js";
import type { FreeWorkerData, ToFreeWorker } from "./free-pool.js";
import { monotonicClock, startReporting } from "./reporting.js";

const data = workerData as FreeWorkerData;
const clock = monotonicClock(data.originNs);
const devices = new Map(data.devices.map((handle) => [handle.id, Device.attach(handle, { clock })]));
const { tracker, client } = startReporting({
  devices: [...devices.values()],
  sessionId: data.sessionId,
  processName: data.processName,
  ...(data.socketPath ? { socketPath: data.socketPath } : {}),
});
const inFlight = new Int32Array(data.inFlight);

parentPort!.on("message", (message: ToFreeWorker) => {
  switch (message.kind) {
    case "free":
      for (const transfer of message.transfers) {
        Buffer.adopt(devices.get(transfer.deviceId)!, transfer, { tracker }).deallocate();
      }
      Atomics.sub(inFlight, data.index, message.transfers.length);
      break;
    case "drain":
      void client.flush().then(() => parentPort!.postMessage({ kind: "drained", token: message.token }));
      break;
    case "close":
      void client.close().then(() => {
        parentPort!.postMessage({ kind: "closed" });
        parentPort!.close();
      });
      break;
  }
});
