import { memoryLayout } from "../../device/layout.js";
import type { DevicePreset } from "../../device/presets.js";
import type { DeviceDescriptor } from "../../protocol/frames.js";
import type { LegacyDeviceInfo } from "../../protocol/legacy/encoder.js";
import { LegacyArch } from "../../protocol/legacy/layout.js";
import { MEMORY_TYPE_COUNT } from "../../protocol/memory-type.js";
import type { LegacyDeviceConfig } from "./options.js";

/** The original server's MAX_DEVICES: the ids accepted when no device is configured. */
const UNCONFIGURED_DEVICE_IDS = 8;

const ARCH_CODES: Readonly<Record<string, LegacyArch>> = {
  WORMHOLE_B0: LegacyArch.WORMHOLE_B0,
  BLACKHOLE: LegacyArch.BLACKHOLE,
};

interface Entry {
  descriptor: DeviceDescriptor;
  info: LegacyDeviceInfo;
}

/**
 * The devices legacy clients may name, from `--legacy-device`. With none configured, ids 0..7 are
 * accepted (the original's fixed table) with unknown capacities, and DEVICE_INFO_QUERY(-1) answers 0.
 */
export class LegacyDeviceTable {
  private readonly byId = new Map<number, Entry>();

  constructor(devices: readonly LegacyDeviceConfig[]) {
    for (const { deviceId, preset } of devices) {
      this.byId.set(deviceId, { descriptor: describe(deviceId, preset), info: deviceInfo(preset) });
    }
  }

  /** Number of configured devices (DEVICE_INFO_QUERY(-1)). */
  get count(): number {
    return this.byId.size;
  }

  /** Whether a legacy frame may name `deviceId`. */
  accepts(deviceId: number): boolean {
    if (this.byId.size === 0) return deviceId >= 0 && deviceId < UNCONFIGURED_DEVICE_IDS;
    return this.byId.has(deviceId);
  }

  /** DEVICE_INFO_RESPONSE content for a configured device, else undefined (a zeroed response). */
  info(deviceId: number): LegacyDeviceInfo | undefined {
    return this.byId.get(deviceId)?.info;
  }

  /** Descriptors for the server's device catalog (capacities per memory type). */
  descriptors(): DeviceDescriptor[] {
    return [...this.byId.values()].map((e) => e.descriptor);
  }
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
