import type { DeviceDescriptor } from "../../protocol/frames.js";
import type { MemoryMapResponse, MemoryMapType, SummaryResponse } from "../api-types.js";
import type { DeviceCatalog } from "../device-catalog.js";
import type { Registry } from "../registry.js";
import { type DeviceLayoutLookup, layoutOfDescriptor } from "./device-layout.js";
import { inexactMemoryMap, liveOfMapType, MemoryMapBuilder, type MemoryMapRequest } from "./memory-map.js";

export interface MemoryMapSources {
  registry: Registry;
  catalog: DeviceCatalog;
  processNameOf(sessionId: string): string;
  /**
   * The summary's entry of a device when sources without addresses (tt-metal shared memory) may add
   * to it; undefined when the server reads no such source.
   */
  hostSummaryOf?(deviceId: number): SummaryResponse["devices"][number] | undefined;
}

/**
 * Answers `/memory-map` requests: exact maps where the device's layout is known and every byte of the
 * type has an address, else `exact: false` with the reason (the server never guesses a layout).
 */
export class MemoryMapQuery {
  private readonly builder: MemoryMapBuilder;
  /** Descriptions in the catalog are kept objects: one lookup per description. */
  private readonly layouts = new WeakMap<DeviceDescriptor, DeviceLayoutLookup>();

  constructor(private readonly sources: MemoryMapSources) {
    this.builder = new MemoryMapBuilder(sources.registry, sources.processNameOf);
  }

  /** The map of a device the caller knows exists. */
  answer(request: MemoryMapRequest): MemoryMapResponse {
    const { registry, catalog } = this.sources;
    const device = registry.findDevice(request.deviceId);
    const { usedBytes } = liveOfMapType(device, request.memoryType);
    const types =
      request.memoryType === "L1" || request.memoryType === "CB" ? ["L1", "CB"] : [request.memoryType];
    const summary = this.sources.hostSummaryOf?.(request.deviceId);
    let allUsedBytes = usedBytes;
    if (summary !== undefined) {
      allUsedBytes = 0;
      for (const type of types) allUsedBytes += summary.memory[type as MemoryMapType].used;
    }
    const descriptor = catalog.get(request.deviceId);
    if (descriptor === undefined) {
      const reason =
        `no client described device ${request.deviceId} (its allocations come from legacy frames of a ` +
        "device not configured with --legacy-device, or from tt-metal's shared-memory counters): its layout is unknown";
      return inexactMemoryMap(request, device, reason, allUsedBytes);
    }
    let lookup = this.layouts.get(descriptor);
    if (lookup === undefined) {
      lookup = layoutOfDescriptor(descriptor);
      this.layouts.set(descriptor, lookup);
    }
    if ("reason" in lookup) return inexactMemoryMap(request, device, lookup.reason, allUsedBytes);
    if (allUsedBytes > usedBytes) {
      const reason =
        `${allUsedBytes - usedBytes} bytes of ${types.join("+")} on device ${request.deviceId} are counted by ` +
        "tt-metal's shared-memory counters, which carry no addresses";
      return inexactMemoryMap(request, device, reason, allUsedBytes);
    }
    return this.builder.build(request, lookup.layout, device);
  }
}
