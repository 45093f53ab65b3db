// Worker-thread entry: takes over buffers the main thread allocated on a shared device and frees them,
// reporting the FREEs through this thread's own client (same session, own connection).
import { parentPort, workerData } from "node:worker_threads";
import { Device } from "../device/device.js";
import { DeviceBuffer } from "../device/device-buffer.js";
import type { FreeWorkerData, ToFreeWorker } from "./free-pool.js";
import { monotonicClock, startReporting, whenConnected } from "./reporting.js";

const data = workerData as FreeWorkerData;
const clock = monotonicClock(data.originNs);
const devices = new Map(data.devices.map((handle) => [handle.id, Device.attach(handle, { clock })]));
const { tracker, client } = startReporting({
  devices: [...devices.values()],
  sessionId: data.sessionId,
  resumeSecret: data.resumeSecret,
  processName: data.processName,
  ...(data.socketPath ? { socketPath: data.socketPath } : {}),
});
// Other threads change these devices too, so this thread's tracker sees an increasing subsequence of
// each device's numbers: say so up front rather than let it wait for numbers it will never see.
for (const id of devices.keys()) tracker.observeDevice(id, { kind: "sparse" });
const inFlight = new Int32Array(data.inFlight);
void whenConnected(client, data.connectTimeoutMs).then((connected) =>
  parentPort!.postMessage({ kind: "ready", connected }),
);

parentPort!.on("message", (message: ToFreeWorker) => {
  switch (message.kind) {
    case "free": {
      const { transfer } = message;
      DeviceBuffer.adopt(devices.get(transfer.deviceId)!, transfer, { tracker }).deallocate();
      Atomics.sub(inFlight, data.index, transfer.sizeBytes);
      break;
    }
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
