import { type MemoryLayout, memoryLayout } from "../../device/layout.js";
import { DEVICE_PRESETS, type DevicePreset, withRegionSizes } from "../../device/presets.js";
import type { DeviceDescriptor } from "../../protocol/frames.js";
import { MEMORY_TYPE_COUNT, MEMORY_TYPE_NAMES, MemoryType } from "../../protocol/memory-type.js";

/** The layout of a described device, or why the server cannot know it. */
export type DeviceLayoutLookup = { layout: MemoryLayout } | { reason: string };

/**
 * Recovers a device's memory layout from its HELLO description. Our clients name a device by its preset
 * ("wormhole_b0_n150"), or by the runtime Device's default name "<preset>:<id>"; the application-chosen
 * region sizes (L1_SMALL, TRACE: `withRegionSizes`) are read back from the described capacities, and
 * every capacity must then equal the layout's, or the layout is not the device's: never a guess.
 */
export function layoutOfDescriptor(descriptor: DeviceDescriptor): DeviceLayoutLookup {
  const preset = presetNamed(descriptor.name);
  if (preset === undefined) {
    return {
      reason: `device ${descriptor.deviceId} is described as "${descriptor.name}", which names no known device preset (${Object.keys(DEVICE_PRESETS).join(", ")})`,
    };
  }
  if (preset.architecture !== descriptor.architecture) {
    return {
      reason: `device ${descriptor.deviceId} is described as ${preset.name} with architecture "${descriptor.architecture}" (the preset's is "${preset.architecture}")`,
    };
  }
  const capacity = (type: number): number => descriptor.capacityBytes[type] ?? 0;
  let layout: MemoryLayout;
  try {
    layout = memoryLayout(
      withRegionSizes(preset, {
        l1SmallBytes: capacity(MemoryType.L1_SMALL) / preset.l1.bankCount,
        traceRegionBytes: capacity(MemoryType.TRACE) / preset.dram.bankCount,
      }),
    );
  } catch (error) {
    return {
      reason: `device ${descriptor.deviceId}'s capacities fit no layout of ${preset.name}: ${(error as Error).message}`,
    };
  }
  for (let type = 0; type < MEMORY_TYPE_COUNT; type++) {
    const region = layout.regions[layout.regionOfType[type]];
    const expected = region === undefined ? 0 : region.sizePerBankBytes * region.bankCount;
    if (capacity(type) !== expected) {
      return {
        reason: `device ${descriptor.deviceId} is described as ${preset.name} with ${capacity(type)} bytes of ${MEMORY_TYPE_NAMES[type]}, but that preset's layout has ${expected}`,
      };
    }
  }
  return { layout };
}

function presetNamed(name: string): DevicePreset | undefined {
  const presetName = /^(.+):\d+$/.exec(name)?.[1] ?? name;
  return Object.hasOwn(DEVICE_PRESETS, presetName) ? DEVICE_PRESETS[presetName] : undefined;
}
