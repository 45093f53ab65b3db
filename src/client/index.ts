/**
 * The client library's public surface: what a workload (or the CLI) imports; the package exports it as
 * "allocwatch/client". It also re-exports the runtime model a reporting program drives (src/device), so
 * that one import serves it. tt-metal's Buffer is exported as DeviceBuffer: a binding named Buffer would
 * shadow Node's global Buffer in every importer.
 */
export { ChangeRecord, FitPolicy } from "../device/allocator/types.js";
export { type AllocationChange, type AllocationProcessor, ChangeOp } from "../device/change.js";
export {
  type Clock,
  DEFAULT_MAX_BLOCKS_PER_REGION,
  Device,
  type DeviceOptions,
  type SharedDeviceHandle,
} from "../device/device.js";
export {
  type BufferDevice,
  type BufferOptions,
  type BufferSpec,
  BufferStatus,
  type BufferTransfer,
  DeviceBuffer,
} from "../device/device-buffer.js";
export * from "../device/errors.js";
export {
  defaultGraphTracker,
  type GraphHooks,
  GraphTracker,
  type GraphTrackerCounters,
  type GraphTrackerOptions,
  type HookedBuffer,
} from "../device/graph-tracker.js";
export { type MemoryLayout, type MemoryRegion, memoryLayout } from "../device/layout.js";
export { MEMORY_TYPES, MemoryType, type MemoryTypeName } from "../device/memory-type.js";
export { MAX_OPERATION_DEPTH, OperationScope } from "../device/operation-scope.js";
export * from "../device/presets.js";
export { AllocationClient } from "./allocation-client.js";
export { MAX_CLIENT_CONTEXTS } from "./client-contexts.js";
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
export { type OperationSource, TrackingProcessor } from "./tracking-processor.js";
export type * from "./types.js";
