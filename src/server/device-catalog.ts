import type { DeviceDescriptor } from "../protocol/frames.js";
import type { AnomalyLog, AnomalySubject } from "./anomaly-log.js";

/** One description of a device id and who gave it: live sessions, or the server's own configuration. */
interface Description {
  readonly descriptor: DeviceDescriptor;
  readonly holders: Set<AnomalySubject>;
}

/**
 * What the server knows about each device (name, architecture, capacities), from the clients' HELLO
 * descriptors (and the legacy adapter's configuration, described by NO_SESSION, which never leaves).
 *
 * A description lives as long as one of the sessions that gave it: `forget` (a session released) drops
 * it with the last one, so a departed client cannot go on naming a device for everyone. The oldest live
 * description is the one in force. A session describing an id differently from the one in force is a
 * DESCRIPTOR_CONFLICT anomaly, never a crash (two processes may simulate different devices under one
 * id, or a client may be misconfigured); its description waits, and takes over if every holder of the
 * one in force leaves. Memory: one entry per (device, distinct live description), one set member per
 * (session, device) it announced.
 */
export class DeviceCatalog {
  /** Descriptions per device id, oldest first: the first is in force. */
  private readonly byId = new Map<number, Description[]>();

  constructor(private readonly anomalies: AnomalyLog) {}

  /**
   * Records that `subject` describes its device as `descriptor`; returns false when that conflicts
   * with the description in force (an anomaly; the one in force stays).
   */
  describe(descriptor: DeviceDescriptor, subject: AnomalySubject): boolean {
    const id = descriptor.deviceId;
    let descriptions = this.byId.get(id);
    if (descriptions === undefined) {
      descriptions = [];
      this.byId.set(id, descriptions);
    }
    let same = descriptions.find((d) => describeDifference(d.descriptor, descriptor) === undefined);
    if (same === undefined) {
      same = { descriptor: copyOf(descriptor), holders: new Set() };
      descriptions.push(same);
    }
    same.holders.add(subject);
    const inForce = descriptions[0];
    if (same === inForce) return true;
    this.anomalies.record(
      "DESCRIPTOR_CONFLICT",
      subject,
      id,
      `device ${id} described with ${describeDifference(inForce.descriptor, descriptor)}; keeping the first description`,
    );
    return false;
  }

  /** `subject` is gone: the descriptions of `deviceIds` that only it gave leave with it. */
  forget(subject: AnomalySubject, deviceIds: Iterable<number>): void {
    for (const id of deviceIds) {
      const descriptions = this.byId.get(id);
      if (descriptions === undefined) continue;
      for (const d of descriptions) d.holders.delete(subject);
      const left = descriptions.filter((d) => d.holders.size > 0);
      if (left.length === 0) this.byId.delete(id);
      else if (left.length !== descriptions.length) this.byId.set(id, left);
    }
  }

  /** The description in force, or undefined when no live session (nor the configuration) describes it. */
  get(deviceId: number): DeviceDescriptor | undefined {
    return this.byId.get(deviceId)?.[0].descriptor;
  }

  ids(): IterableIterator<number> {
    return this.byId.keys();
  }
}

function copyOf(descriptor: DeviceDescriptor): DeviceDescriptor {
  return {
    deviceId: descriptor.deviceId,
    name: descriptor.name,
    architecture: descriptor.architecture,
    capacityBytes: descriptor.capacityBytes.slice(),
  };
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
