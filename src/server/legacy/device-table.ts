import { memoryLayout } from "../../device/layout.js";
import type { DevicePreset } from "../../device/presets.js";
import type { DeviceDescriptor } from "../../protocol/frames.js";
import type { LegacyDeviceInfo } from "../../protocol/legacy/encoder.js";
import { LegacyArch } from "../../protocol/legacy/layout.js";
import { MEMORY_TYPE_COUNT } from "../../protocol/memory-type.js";
import { LEGACY_MAX_DEVICE_ID, type LegacyDeviceConfig } from "./options.js";

/**
 * Most device ids learned from traffic (named by a frame, neither configured nor discovered): enough
 * for every chip of a large host, small enough that a peer naming id after id cannot grow the table.
 */
export const MAX_LEARNED_DEVICES = 64;

/** The discovery hook is asked at most this often; its answer is kept in between, ms. */
export const DISCOVERY_REFRESH_MS = 1000;

/** A device found on the host (hardware, tt-metal shared memory); `preset` when its capacities are known. */
export interface DiscoveredLegacyDevice {
  deviceId: number;
  preset: DevicePreset | undefined;
}

export type DiscoverLegacyDevices = () => readonly DiscoveredLegacyDevice[];

const ARCH_CODES: Readonly<Record<string, LegacyArch>> = {
  WORMHOLE_B0: LegacyArch.WORMHOLE_B0,
  BLACKHOLE: LegacyArch.BLACKHOLE,
};

/** DEVICE_INFO_RESPONSE of a device known to exist whose capacities are not: available, sizes 0. */
const UNKNOWN_SIZE_INFO: LegacyDeviceInfo = Object.freeze({
  archType: LegacyArch.INVALID,
  numDramChannels: 0,
  dramSizePerChannelBytes: 0,
  l1SizePerCoreBytes: 0,
  totalDramBytes: 0,
  totalL1Bytes: 0,
});

interface Entry {
  /** undefined: known to exist, capacities unknown. */
  descriptor: DeviceDescriptor | undefined;
  info: LegacyDeviceInfo;
}

/**
 * The devices legacy clients may name: configured (`--legacy-device`, with capacities), discovered
 * (the optional hook), and learned (a device id first seen in a frame, at most MAX_LEARNED_DEVICES).
 * DEVICE_INFO_QUERY(-1) counts all three.
 */
export class LegacyDeviceTable {
  private readonly byId = new Map<number, Entry>();
  private learned = 0;
  private discoveredAtMs = Number.NEGATIVE_INFINITY;

  constructor(
    devices: readonly LegacyDeviceConfig[],
    private readonly discover: DiscoverLegacyDevices | undefined,
    private readonly nowMs: () => number,
    /** Called once for each device whose capacities become known after construction (discovery). */
    private readonly described: (descriptor: DeviceDescriptor) => void,
  ) {
    for (const { deviceId, preset } of devices) this.byId.set(deviceId, withPreset(deviceId, preset));
  }

  /** Devices known: configured, discovered and learned. */
  get count(): number {
    this.refreshDiscovered();
    return this.byId.size;
  }

  /** Devices learned from traffic so far. */
  get learnedCount(): number {
    return this.learned;
  }

  /**
   * Whether a frame may name `deviceId`. An id in 0..LEGACY_MAX_DEVICE_ID not known yet is learned (a
   * device of unknown size) while fewer than MAX_LEARNED_DEVICES were; beyond that it is refused.
   */
  accepts(deviceId: number): boolean {
    if (this.byId.has(deviceId)) return true;
    if (!Number.isInteger(deviceId) || deviceId < 0 || deviceId > LEGACY_MAX_DEVICE_ID) return false;
    this.refreshDiscovered();
    if (this.byId.has(deviceId)) return true;
    if (this.learned >= MAX_LEARNED_DEVICES) return false;
    this.learned++;
    this.byId.set(deviceId, { descriptor: undefined, info: UNKNOWN_SIZE_INFO });
    return true;
  }

  /** DEVICE_INFO_RESPONSE content for a known device, else undefined (a zeroed response). */
  info(deviceId: number): LegacyDeviceInfo | undefined {
    if (!this.byId.has(deviceId)) this.refreshDiscovered();
    return this.byId.get(deviceId)?.info;
  }

  /** Descriptors of the devices whose capacities are known, for the server's device catalog. */
  descriptors(): DeviceDescriptor[] {
    const out: DeviceDescriptor[] = [];
    for (const entry of this.byId.values()) if (entry.descriptor !== undefined) out.push(entry.descriptor);
    return out;
  }

  /** Asks the hook (at most once per DISCOVERY_REFRESH_MS); a discovered preset replaces an unknown size. */
  private refreshDiscovered(): void {
    if (this.discover === undefined) return;
    const now = this.nowMs();
    if (now - this.discoveredAtMs < DISCOVERY_REFRESH_MS) return;
    this.discoveredAtMs = now;
    for (const { deviceId, preset } of this.discover()) {
      if (!Number.isInteger(deviceId) || deviceId < 0 || deviceId > LEGACY_MAX_DEVICE_ID) continue;
      const known = this.byId.get(deviceId);
      if (known?.descriptor !== undefined) continue;
      if (preset === undefined) {
        if (known === undefined) this.byId.set(deviceId, { descriptor: undefined, info: UNKNOWN_SIZE_INFO });
        continue;
      }
      const entry = withPreset(deviceId, preset);
      this.byId.set(deviceId, entry);
      this.described(entry.descriptor!);
    }
  }
}

function withPreset(deviceId: number, preset: DevicePreset): Entry {
  return { descriptor: describe(deviceId, preset), info: deviceInfo(preset) };
}

/** Capacity per memory type = region size per bank × banks, as native clients describe their devices. */
function describe(deviceId: number, preset: DevicePreset): DeviceDescriptor {
  const { regions, regionOfType } = memoryLayout(preset);
  const capacityBytes: number[] = [];
  for (let type = 0; type < MEMORY_TYPE_COUNT; type++) {
    const region = regions[regionOfType[type]!];
    capacityBytes.push(region === undefined ? 0 : region.sizePerBankBytes * region.bankCount);
  }
  return { deviceId, name: preset.name, architecture: preset.architecture, capacityBytes };
}

/**
 * What the original reported: channels × bytes per channel, L1 per core × cores. We count L1 over the
 * worker cores the allocator uses (harvest-aware), not the pre-harvest grid the original multiplied.
 */
function deviceInfo(preset: DevicePreset): LegacyDeviceInfo {
  return {
    archType: ARCH_CODES[preset.architecture] ?? LegacyArch.INVALID,
    numDramChannels: preset.dram.bankCount,
    dramSizePerChannelBytes: preset.dram.bankSizeBytes,
    l1SizePerCoreBytes: preset.l1.sizePerCoreBytes,
    totalDramBytes: preset.dram.bankCount * preset.dram.bankSizeBytes,
    totalL1Bytes: preset.l1.bankCount * preset.l1.sizePerCoreBytes,
  };
}
