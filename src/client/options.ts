import { randomBytes } from "node:crypto";
import { DEFAULT_MAX_FRAME_BYTES, type DeviceDescriptor } from "../protocol/frames.js";
import { MAX_DEVICES_PER_HELLO, maxEventsPerFrame } from "../protocol/layout.js";
import { MEMORY_TYPE_COUNT } from "../protocol/memory-type.js";
import type { ClientError } from "./errors.js";
import { InvalidClientOptionError } from "./errors.js";
import { resolveSocketPath } from "./socket-path.js";
import type { AllocationClientOptions, ClientState, FlushOptions, SnapshotSource } from "./types.js";

export const DEFAULT_MAX_QUEUE_BYTES = 4 * 1024 * 1024;
export const DEFAULT_FLUSH_INTERVAL_MS = 1;
export const DEFAULT_BATCH_MAX_EVENTS = 2048;
export const DEFAULT_RECONNECT_INITIAL_MS = 50;
export const DEFAULT_RECONNECT_MAX_MS = 2000;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;
export const DEFAULT_FLUSH_TIMEOUT_MS = 5000;

const SESSION_ID_PATTERN = /^[0-9a-f]{32}$/;
/** Largest timer delay Node accepts without clamping to 1 ms, ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Options after validation and defaults: everything the client decides at construction. */
export interface ResolvedClientOptions {
  socketPath: string;
  sessionId: string;
  resumeSecret: string;
  processName: string | undefined;
  devices: readonly DeviceDescriptor[];
  snapshot: SnapshotSource | undefined;
  initialSnapshot: boolean;
  maxQueueBytes: number;
  flushIntervalMs: number;
  batchMaxEvents: number;
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  handshakeTimeoutMs: number;
  onError: ((error: ClientError) => void) | undefined;
  onStateChange: ((state: ClientState) => void) | undefined;
}

/** Validates once, at the edge; every message says what to pass instead. Throws InvalidClientOptionError. */
export function resolveClientOptions(options: AllocationClientOptions): ResolvedClientOptions {
  if (options === null || typeof options !== "object") {
    throw new InvalidClientOptionError("options", "pass an object such as { devices: [...] }");
  }
  const socketPath = resolveSocketPath(optionalString(options.socketPath, "socketPath"));
  const sessionId = options.sessionId ?? randomBytes(16).toString("hex");
  if (typeof sessionId !== "string" || !SESSION_ID_PATTERN.test(sessionId)) {
    throw new InvalidClientOptionError(
      "sessionId",
      `must be 32 lowercase hex characters (16 bytes), got ${JSON.stringify(sessionId)}`,
    );
  }
  // Chosen with the session id and known only to this process: the server lets a connection join the
  // session only with it (docs/PROTOCOL.md §3.1), so a peer that read the session id cannot take it over.
  const resumeSecret = options.resumeSecret ?? randomBytes(16).toString("hex");
  if (typeof resumeSecret !== "string" || !SESSION_ID_PATTERN.test(resumeSecret)) {
    throw new InvalidClientOptionError(
      "resumeSecret",
      `must be 32 lowercase hex characters (16 bytes), got ${typeof resumeSecret === "string" ? `${resumeSecret.length} characters` : typeof resumeSecret}`,
    );
  }
  if (options.resumeSecret !== undefined && options.sessionId === undefined) {
    throw new InvalidClientOptionError(
      "resumeSecret",
      "belongs to a session: pass the sessionId it was chosen with too (client.sessionId, client.resumeSecret)",
    );
  }
  const devices = checkDevices(options.devices);
  const snapshot = options.snapshot;
  if (snapshot !== undefined && typeof snapshot !== "function") {
    throw new InvalidClientOptionError("snapshot", "must be a function (deviceId) => { seq, allocations }");
  }
  const initialSnapshot = options.initialSnapshot ?? snapshot !== undefined;
  if (typeof initialSnapshot !== "boolean") {
    throw new InvalidClientOptionError("initialSnapshot", "must be true or false");
  }
  if (initialSnapshot && snapshot === undefined) {
    throw new InvalidClientOptionError(
      "initialSnapshot",
      "needs a snapshot source: pass options.snapshot too",
    );
  }
  const batchCeiling = maxEventsPerFrame(DEFAULT_MAX_FRAME_BYTES);
  const resolved: ResolvedClientOptions = {
    socketPath,
    sessionId,
    resumeSecret,
    processName: optionalString(options.processName, "processName"),
    devices,
    snapshot,
    initialSnapshot,
    maxQueueBytes: integerIn(options.maxQueueBytes, "maxQueueBytes", DEFAULT_MAX_QUEUE_BYTES, 1024, 2 ** 31),
    flushIntervalMs: integerIn(
      options.flushIntervalMs,
      "flushIntervalMs",
      DEFAULT_FLUSH_INTERVAL_MS,
      0,
      60_000,
    ),
    batchMaxEvents: integerIn(
      options.batchMaxEvents,
      "batchMaxEvents",
      DEFAULT_BATCH_MAX_EVENTS,
      1,
      batchCeiling,
    ),
    reconnectInitialMs: integerIn(
      options.reconnectInitialMs,
      "reconnectInitialMs",
      DEFAULT_RECONNECT_INITIAL_MS,
      1,
      MAX_TIMER_MS,
    ),
    reconnectMaxMs: integerIn(
      options.reconnectMaxMs,
      "reconnectMaxMs",
      DEFAULT_RECONNECT_MAX_MS,
      1,
      MAX_TIMER_MS,
    ),
    handshakeTimeoutMs: integerIn(
      options.handshakeTimeoutMs,
      "handshakeTimeoutMs",
      DEFAULT_HANDSHAKE_TIMEOUT_MS,
      1,
      MAX_TIMER_MS,
    ),
    onError: optionalFunction(options.onError, "onError"),
    onStateChange: optionalFunction(options.onStateChange, "onStateChange"),
  };
  if (resolved.reconnectMaxMs < resolved.reconnectInitialMs) {
    throw new InvalidClientOptionError(
      "reconnectMaxMs",
      `must be >= reconnectInitialMs (${resolved.reconnectInitialMs}), got ${resolved.reconnectMaxMs}`,
    );
  }
  return resolved;
}

/**
 * The wait flush() and close() allow, ms. Unlike the client's options these are never rejected (flush and
 * close never throw): anything but a positive number means the default, and the wait is clamped to what a
 * timer can carry.
 */
export function flushTimeoutMs(options: FlushOptions): number {
  const timeoutMs = options?.timeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS;
  return Number.isFinite(timeoutMs) && timeoutMs > 0
    ? Math.min(timeoutMs, MAX_TIMER_MS)
    : DEFAULT_FLUSH_TIMEOUT_MS;
}

function checkDevices(devices: unknown): readonly DeviceDescriptor[] {
  if (!Array.isArray(devices)) {
    throw new InvalidClientOptionError(
      "devices",
      "pass an array of { deviceId, name, architecture, capacityBytes } (describeDevice(device) builds one)",
    );
  }
  if (devices.length > MAX_DEVICES_PER_HELLO) {
    throw new InvalidClientOptionError(
      "devices",
      `at most ${MAX_DEVICES_PER_HELLO} devices, got ${devices.length}`,
    );
  }
  const seen = new Set<number>();
  devices.forEach((device: DeviceDescriptor, i) => {
    const at = `devices[${i}]`;
    if (device === null || typeof device !== "object") {
      throw new InvalidClientOptionError(
        at,
        "must be an object { deviceId, name, architecture, capacityBytes }",
      );
    }
    if (!Number.isInteger(device.deviceId) || device.deviceId < 0 || device.deviceId >= 0xffff) {
      throw new InvalidClientOptionError(
        `${at}.deviceId`,
        `must be an integer in [0, 65534], got ${device.deviceId}`,
      );
    }
    if (seen.has(device.deviceId)) {
      throw new InvalidClientOptionError(`${at}.deviceId`, `device ${device.deviceId} is listed twice`);
    }
    seen.add(device.deviceId);
    if (typeof device.name !== "string") throw new InvalidClientOptionError(`${at}.name`, "must be a string");
    if (typeof device.architecture !== "string") {
      throw new InvalidClientOptionError(`${at}.architecture`, 'must be a string such as "wormhole_b0"');
    }
    const capacity = device.capacityBytes;
    if (!Array.isArray(capacity) || capacity.length !== MEMORY_TYPE_COUNT) {
      throw new InvalidClientOptionError(
        `${at}.capacityBytes`,
        `must be an array of ${MEMORY_TYPE_COUNT} byte counts indexed by MemoryType (0 = none)`,
      );
    }
    capacity.forEach((bytes, t) => {
      if (!Number.isSafeInteger(bytes) || bytes < 0) {
        throw new InvalidClientOptionError(
          `${at}.capacityBytes[${t}]`,
          `must be a non-negative integer (bytes), got ${bytes}`,
        );
      }
    });
  });
  return devices;
}

function integerIn(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidClientOptionError(name, `must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") {
    throw new InvalidClientOptionError(name, `must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function optionalFunction<T>(value: T | undefined, name: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "function") throw new InvalidClientOptionError(name, "must be a function");
  return value;
}
