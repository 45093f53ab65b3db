import { Fleet, type FleetOptions } from "./fleet.js";

export interface DemoOptions {
  /** Workload processes to start. */
  processes: number;
  /**
   * Simulated devices per process. Each process has its own: process i reports ids i × devices ..
   * (i + 1) × devices − 1 (`firstDeviceOf`). Processes on one id would each run their own simulated
   * allocator over the same memory, and the server would show usage past capacity.
   */
  devices: number;
  /** Indexes (0-based) of the processes that leak. */
  leak: readonly number[];
  /** Seconds to run; undefined = until stopped. */
  durationS?: number;
  /** Server socket; undefined = the clients' default resolution. */
  socketPath?: string;
  preset: string;
  /** Free-worker threads per process. */
  workers: number;
  /** Pause between forward passes, ms. */
  stepMs: number;
  /** Receives the children's output lines (JSON milestones on stdout, problems on stderr). */
  log: FleetOptions["log"];
}

const processEntry = new URL("./process-main.js", import.meta.url);

/** The first device id of demo process `index` (0-based) when every process has `devices` of its own. */
export function firstDeviceOf(index: number, devices: number): number {
  return index * devices;
}

/** Starts the demo's workload processes (see process-main.ts); stop them with `fleet.stop()`. */
export function startDemo(options: DemoOptions): Fleet {
  return new Fleet({
    entry: processEntry.pathname,
    count: options.processes,
    log: options.log,
    argsFor: (index) => [
      "--supervised",
      "--index",
      String(index),
      "--devices",
      String(options.devices),
      "--first-device",
      String(firstDeviceOf(index, options.devices)),
      "--preset",
      options.preset,
      "--workers",
      String(options.workers),
      "--step-ms",
      String(options.stepMs),
      ...(options.durationS !== undefined ? ["--duration", String(options.durationS)] : []),
      ...(options.leak.includes(index) ? ["--leak"] : []),
      ...(options.socketPath ? ["--socket", options.socketPath] : []),
    ],
  });
}
