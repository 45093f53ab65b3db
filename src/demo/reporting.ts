import { AllocationClient } from "../client/allocation-client.js";
import { deviceOptions } from "../client/device-description.js";
import { TrackingProcessor } from "../client/tracking-processor.js";
import type { AllocationClientOptions } from "../client/types.js";
import type { Device } from "../device/device.js";
import { GraphTracker } from "../device/graph-tracker.js";

export interface ReportingOptions {
  devices: readonly Device[];
  /** The process's session: every thread's client passes the same one, with its resume secret. */
  sessionId: string;
  /** The session's resume secret; undefined for the first client (it chooses one: client.resumeSecret). */
  resumeSecret?: string;
  socketPath?: string;
  processName: string;
  /** How the client's absorbed errors are told (ClientTrouble); unset = counted only. */
  onError?: AllocationClientOptions["onError"];
  onStateChange?: AllocationClientOptions["onStateChange"];
}

export interface Reporting {
  tracker: GraphTracker;
  client: AllocationClient;
}

/**
 * One thread's tracking: a GraphTracker whose processor feeds this thread's AllocationClient. Each thread
 * gets its own (a client belongs to one event loop); the shared session id makes them one process.
 */
export function startReporting(options: ReportingOptions): Reporting {
  const tracker = new GraphTracker();
  const client = new AllocationClient({
    ...deviceOptions(options.devices),
    sessionId: options.sessionId,
    ...(options.resumeSecret ? { resumeSecret: options.resumeSecret } : {}),
    processName: options.processName,
    ...(options.socketPath ? { socketPath: options.socketPath } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.onStateChange ? { onStateChange: options.onStateChange } : {}),
  });
  // Each allocation carries the operation its device was in (Device.withOperation) as its context.
  tracker.addProcessor(new TrackingProcessor(client, options.devices));
  return { tracker, client };
}

/** ns since `originNs` (the process's session start), from the monotonic clock. */
export function monotonicClock(originNs: bigint): () => number {
  return () => Number(process.hrtime.bigint() - originNs);
}

/**
 * Resolves once `client` has its connection (WELCOME received), or after `timeoutMs` without one: a
 * workload waits briefly at start-up so its first changes are sent rather than folded into a snapshot,
 * and never waits for a server that is not there.
 */
export async function whenConnected(client: AllocationClient, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (client.state !== "ready") {
    if (Date.now() >= deadline || client.state === "closed") return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}
