/** The client library's public surface: what a workload (or the CLI) imports. */
export { AllocationClient } from "./allocation-client.js";
export { describeDevice, deviceOptions, deviceSnapshotSource } from "./device-description.js";
export * from "./errors.js";
export {
  DEFAULT_BATCH_MAX_EVENTS,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_QUEUE_BYTES,
  DEFAULT_RECONNECT_INITIAL_MS,
  DEFAULT_RECONNECT_MAX_MS,
} from "./options.js";
export { currentProcessIdentity, type ProcessIdentity, readProcessStartTicks } from "./process-identity.js";
export { resolveSocketPath, SOCKET_PATH_ENV } from "./socket-path.js";
export { TrackingProcessor } from "./tracking-processor.js";
export type * from "./types.js";
