import { memoryLayout } from "../device/layout.js";
import type { DevicePreset } from "../device/presets.js";
import { MEMORY_TYPE_COUNT } from "../protocol/memory-type.js";
import {
  API_MEMORY_TYPES,
  type ApiMemoryType,
  type DeviceHolder,
  type DeviceSource,
  type DeviceSummary,
  type MemoryUsage,
  type ProcessSummary,
} from "./api-types.js";

/**
 * What the server learns about the host's devices besides what clients report: the cards the kernel driver
 * shows (and who holds them), and the counters every tt-metal process writes into shared memory. Both
 * are read by their own sources (src/server/hardware, src/server/tt-shm); this file only merges their latest
 * readings into the summary, so that every view (HTTP API, smi, DEVICE_INFO of the legacy protocol) sees one
 * list of devices and one list of processes. The rules (docs/ARCHITECTURE.md "Devices and processes of the
 * host"):
 *
 * - A card `/dev/tenstorrent/<N>` is device N. A tt-metal shared-memory region is the device its region
 *   names (tt-metal's logical device id) unless its asic id is a card's, then that card's. Two regions naming
 *   one id for different chips: the lowest asic id keeps it, the others take the next free ids (stable for
 *   the server's life).
 * - Bytes are never counted twice: for a (pid, device) that reports per buffer (native or legacy session),
 *   the session wins and that pid's shared-memory slot is left out; a region's totals beyond the sum of its
 *   slots (per-process tracking off, or a full slot table) count as used, unattributed.
 * - A slot whose process is dead is leaked memory (`memory[type].leaked`, process state "dead"), not use.
 */

/** One tt-metal process slot of a shared-memory region, as the tt-shm source reads it. */
export interface HostShmProcess {
  readonly pid: number;
  readonly name: string;
  /** Bytes by MemoryType index (7 entries). */
  readonly usedBytes: ArrayLike<number>;
  /** false: the slot's process has exited (or its pid was reused): the bytes are leaked until reaped. */
  readonly alive: boolean;
}

/** One shared-memory region (one chip). */
export interface HostShmDevice {
  /** tt-metal's logical device id, as the region says. */
  readonly deviceId: number;
  /** The chip's unique id, decimal (the number in the region's file name). */
  readonly asicId: string;
  /** The region's device-wide totals, bytes by MemoryType index (7 entries). */
  readonly totalsBytes: ArrayLike<number>;
  readonly processes: readonly HostShmProcess[];
}

/** One card the kernel driver shows. */
export interface HostCard {
  /** N of /dev/tenstorrent/<N>. */
  readonly ordinal: number;
  /** The driver's card type ("n150", "p150a", …, or "unknown"). */
  readonly cardType: string;
  readonly preset: DevicePreset | undefined;
  /** "WORMHOLE_B0", "BLACKHOLE" or "unknown". */
  readonly architecture: string;
  /** sysfs tt_asic_id, hex, when the driver shows it. */
  readonly asicId?: string;
  /** Processes with the device node open. */
  readonly holders: readonly { readonly pid: number; readonly name: string }[];
}

/** The readers this merges; each may be absent (turned off). */
export interface HostDeviceSources {
  ttShm?: { devices(): readonly HostShmDevice[] };
  hardware?: { devices(): readonly HostCard[] };
}

/** A device known from the host (not from a client), for the legacy protocol's DEVICE_INFO. */
export interface DiscoveredDevice {
  deviceId: number;
  preset: DevicePreset | undefined;
}

/** Session id of a tt-shm process: "74747368" ("ttsh") then the pid, 8 hex digits, then 16 zeros. */
export function ttShmSessionId(pid: number): string {
  return `74747368${(pid >>> 0).toString(16).padStart(8, "0")}${"0".repeat(16)}`;
}

/** Most regions given ids of their own after a collision (each is a chip; a host has far fewer). */
const MAX_REASSIGNED_REGIONS = 1024;

export class HostDevices {
  /** asic id (decimal) → summary device id, for regions that had to move off a colliding id. */
  private readonly reassigned = new Map<string, number>();
  /** Highest combined use seen per device, bytes by MemoryType (shared memory has no peak of its own). */
  private readonly peaks = new Map<number, Float64Array>();

  constructor(private readonly sources: HostDeviceSources) {}

  get enabled(): boolean {
    return this.sources.ttShm !== undefined || this.sources.hardware !== undefined;
  }

  /** Devices the host shows (cards, regions) with their presets when a card names one. */
  discoveredDevices(): DiscoveredDevice[] {
    const out = new Map<number, DiscoveredDevice>();
    const cards = this.sources.hardware?.devices() ?? [];
    for (const card of cards) out.set(card.ordinal, { deviceId: card.ordinal, preset: card.preset });
    for (const id of this.placeRegions(cards).values()) {
      if (!out.has(id)) out.set(id, { deviceId: id, preset: undefined });
    }
    return [...out.values()].sort((a, b) => a.deviceId - b.deviceId);
  }

  /**
   * Adds the host's devices and tt-metal processes to a summary built from the sessions: `devices` and
   * `processes` are changed in place (entries added, figures raised), then sorted.
   */
  extend(devices: DeviceSummary[], processes: ProcessSummary[]): void {
    const cards = this.sources.hardware?.devices() ?? [];
    const regions = this.placeRegions(cards);
    const byId = new Map<number, DeviceSummary>();
    for (const device of devices) byId.set(device.id, device);
    const entry = (id: number): DeviceSummary => {
      let device = byId.get(id);
      if (device === undefined) {
        device = emptyDevice(id);
        byId.set(id, device);
        devices.push(device);
      }
      return device;
    };

    for (const card of cards) {
      const device = entry(card.ordinal);
      addSource(device, "hardware");
      device.card = card.cardType;
      if (card.asicId !== undefined) device.asicId ??= card.asicId;
      if (device.name === "unknown" && card.preset !== undefined) device.name = card.preset.name;
      if (device.architecture === "unknown") device.architecture = card.architecture;
      if (card.preset !== undefined) fillCapacities(device, card.preset);
    }

    // Which (pid, device) pairs report per buffer: their shared-memory slots are left out.
    const reported = new Set<string>();
    for (const p of processes) for (const d of p.devices) reported.add(`${p.pid}:${d.id}`);

    const shmProcesses = new Map<string, ProcessSummary>();
    for (const [region, id] of regions) {
      const device = entry(id);
      addSource(device, "tt-shm");
      device.asicId ??= region.asicId;
      const slotSum = new Float64Array(MEMORY_TYPE_COUNT);
      for (const slot of region.processes) {
        for (let t = 0; t < MEMORY_TYPE_COUNT; t++) slotSum[t] += slot.usedBytes[t] ?? 0;
        const superseded = slot.alive && reported.has(`${slot.pid}:${id}`);
        if (superseded) continue;
        for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
          const usage = device.memory[API_MEMORY_TYPES[t]];
          if (slot.alive) usage.used += slot.usedBytes[t] ?? 0;
          else usage.leaked += slot.usedBytes[t] ?? 0;
        }
        const key = `${slot.pid}:${slot.alive ? "live" : "dead"}`;
        let process = shmProcesses.get(key);
        if (process === undefined) {
          process = {
            pid: slot.pid,
            name: slot.name,
            sessionId: ttShmSessionId(slot.pid),
            state: slot.alive ? "reporting" : "dead",
            connections: 0,
            source: "tt-shm",
            devices: [],
          };
          shmProcesses.set(key, process);
        }
        const used = {} as Record<ApiMemoryType, number>;
        for (let t = 0; t < MEMORY_TYPE_COUNT; t++) used[API_MEMORY_TYPES[t]] = slot.usedBytes[t] ?? 0;
        process.devices.push({ id, used, allocations: 0, overLimit: false, refusedAllocations: 0 });
      }
      // Bytes in the totals that no slot accounts for (per-process tracking off, or a full slot table).
      for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
        const unattributed = (region.totalsBytes[t] ?? 0) - slotSum[t];
        if (unattributed > 0) device.memory[API_MEMORY_TYPES[t]].used += unattributed;
      }
    }
    for (const process of shmProcesses.values()) {
      process.devices.sort((a, b) => a.id - b.id);
      processes.push(process);
    }

    const reporting = new Set<number>();
    for (const p of processes) if (p.state !== "dead") reporting.add(p.pid);
    for (const card of cards) {
      entry(card.ordinal).holders = card.holders.map(
        (h): DeviceHolder => ({ pid: h.pid, name: h.name, reporting: reporting.has(h.pid) }),
      );
    }

    for (const device of devices) this.raisePeaks(device);
    devices.sort((a, b) => a.id - b.id);
    processes.sort(
      (a, b) => a.pid - b.pid || a.source.localeCompare(b.source) || a.sessionId.localeCompare(b.sessionId),
    );
  }

  /** Summary device id of every readable region, by the rules at the top of this file. */
  private placeRegions(cards: readonly HostCard[]): Map<HostShmDevice, number> {
    const regions = [...(this.sources.ttShm?.devices() ?? [])].sort((a, b) =>
      compareDecimal(a.asicId, b.asicId),
    );
    const cardByAsic = new Map<string, number>();
    for (const card of cards) {
      if (card.asicId !== undefined) cardByAsic.set(hexToDecimal(card.asicId), card.ordinal);
    }
    const placed = new Map<HostShmDevice, number>();
    const taken = new Map<number, string>();
    const wanted = (region: HostShmDevice): number =>
      this.reassigned.get(region.asicId) ?? cardByAsic.get(region.asicId) ?? region.deviceId;
    for (const region of regions) {
      let id = wanted(region);
      const holder = taken.get(id);
      if (holder !== undefined && holder !== region.asicId) {
        if (this.reassigned.size >= MAX_REASSIGNED_REGIONS) continue;
        id = this.freeId(regions, cards, taken);
        this.reassigned.set(region.asicId, id);
      }
      taken.set(id, region.asicId);
      placed.set(region, id);
    }
    return placed;
  }

  private freeId(
    regions: readonly HostShmDevice[],
    cards: readonly HostCard[],
    taken: ReadonlyMap<number, string>,
  ): number {
    let id = 0;
    for (const r of regions) id = Math.max(id, r.deviceId + 1);
    for (const c of cards) id = Math.max(id, c.ordinal + 1);
    for (const t of taken.keys()) id = Math.max(id, t + 1);
    for (const t of this.reassigned.values()) id = Math.max(id, t + 1);
    return id;
  }

  private raisePeaks(device: DeviceSummary): void {
    let peaks = this.peaks.get(device.id);
    if (peaks === undefined) {
      peaks = new Float64Array(MEMORY_TYPE_COUNT);
      this.peaks.set(device.id, peaks);
    }
    for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
      const usage = device.memory[API_MEMORY_TYPES[t]];
      peaks[t] = Math.max(peaks[t], usage.used, usage.peak);
      usage.peak = peaks[t];
    }
  }
}

function emptyDevice(id: number): DeviceSummary {
  const memory = {} as Record<ApiMemoryType, MemoryUsage>;
  for (const type of API_MEMORY_TYPES)
    memory[type] = { used: 0, total: 0, peak: 0, allocations: 0, leaked: 0 };
  return {
    id,
    name: "unknown",
    architecture: "unknown",
    memory,
    allocations: 0,
    sources: [],
    holders: [],
    overLimit: false,
  };
}

function addSource(device: DeviceSummary, source: DeviceSource): void {
  if (!device.sources.includes(source)) device.sources.push(source);
}

/** Capacities from a card's preset, where no client described the device. */
function fillCapacities(device: DeviceSummary, preset: DevicePreset): void {
  const { regions, regionOfType } = memoryLayout(preset);
  for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
    const region = regions[regionOfType[t]!];
    const usage = device.memory[API_MEMORY_TYPES[t]];
    if (usage.total === 0 && region !== undefined) usage.total = region.sizePerBankBytes * region.bankCount;
  }
}

function hexToDecimal(hex: string): string {
  try {
    return BigInt(`0x${hex.replace(/^0x/i, "")}`).toString(10);
  } catch {
    return "";
  }
}

function compareDecimal(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
