import type { DeviceDescriptor } from "../protocol/frames.js";
import type { AnomalyLog, AnomalySubject } from "./anomaly-log.js";

/**
 * What the server knows about each device (name, architecture, capacities), from the clients' HELLO
 * descriptors. The first description of a device id wins; a later session describing the same id
 * differently is a DESCRIPTOR_CONFLICT anomaly, never a crash (two processes may simulate different
 * devices under one id, or a client may be misconfigured).
 */
export class DeviceCatalog {
  private readonly byId = new Map<number, DeviceDescriptor>();

  constructor(private readonly anomalies: AnomalyLog) {}

  /** Records `descriptor`; returns false when it conflicts with the one already known. */
  describe(descriptor: DeviceDescriptor, subject: AnomalySubject): boolean {
    const known = this.byId.get(descriptor.deviceId);
    if (known === undefined) {
      this.byId.set(descriptor.deviceId, {
        deviceId: descriptor.deviceId,
        name: descriptor.name,
        architecture: descriptor.architecture,
        capacityBytes: descriptor.capacityBytes.slice(),
      });
      return true;
    }
    const difference = describeDifference(known, descriptor);
    if (difference === undefined) return true;
    this.anomalies.record(
      "DESCRIPTOR_CONFLICT",
      subject,
      descriptor.deviceId,
      `device ${descriptor.deviceId} described with ${difference}; keeping the first description`,
    );
    return false;
  }

  get(deviceId: number): DeviceDescriptor | undefined {
    return this.byId.get(deviceId);
  }

  ids(): IterableIterator<number> {
    return this.byId.keys();
  }
}

function describeDifference(known: DeviceDescriptor, other: DeviceDescriptor): string | undefined {
  if (known.name !== other.name) return `name "${other.name}" (known as "${known.name}")`;
  if (known.architecture !== other.architecture) {
    return `architecture "${other.architecture}" (known as "${known.architecture}")`;
  }
  const n = Math.max(known.capacityBytes.length, other.capacityBytes.length);
  for (let i = 0; i < n; i++) {
    const a = known.capacityBytes[i] ?? 0;
    const b = other.capacityBytes[i] ?? 0;
    if (a !== b) return `capacity ${b} bytes for memory type ${i} (known as ${a})`;
  }
  return undefined;
}
