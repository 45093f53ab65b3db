import type { Device } from "../device/device.js";
import type { DeviceDescriptor } from "../protocol/frames.js";
import { MEMORY_TYPE_COUNT } from "../protocol/memory-type.js";
import type { SnapshotSource } from "./types.js";

/**
 * HELLO's description of a runtime Device: capacity per memory type = region size per bank × banks.
 * L1 and CB share one region, so both report that region's size (what either could use at most).
 */
export function describeDevice(device: Device): DeviceDescriptor {
  const { regions, regionOfType } = device.layout;
  const capacityBytes: number[] = [];
  for (let type = 0; type < MEMORY_TYPE_COUNT; type++) {
    const region = regions[regionOfType[type]];
    capacityBytes.push(region === undefined ? 0 : region.sizePerBankBytes * region.bankCount);
  }
  return {
    deviceId: device.id,
    name: device.name,
    architecture: device.preset.architecture,
    capacityBytes,
  };
}

/** A snapshot source over runtime Devices: each snapshot is taken under the device allocator's lock. */
export function deviceSnapshotSource(devices: Iterable<Device>): SnapshotSource {
  const byId = new Map<number, Device>();
  for (const device of devices) byId.set(device.id, device);
  return (deviceId) => byId.get(deviceId)?.allocator.snapshot();
}

/** The `devices` and `snapshot` options of an AllocationClient that reports these runtime Devices. */
export function deviceOptions(devices: readonly Device[]): {
  devices: DeviceDescriptor[];
  snapshot: SnapshotSource;
} {
  return { devices: devices.map(describeDevice), snapshot: deviceSnapshotSource(devices) };
}
