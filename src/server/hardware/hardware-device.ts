import type { Architecture, DevicePreset } from "../../device/presets.js";

/**
 * One Tenstorrent device node (`/dev/tenstorrent/<ordinal>`) as tt-kmd describes it, and who holds it.
 * Built by `scanDevices` (device-scan.ts); served by `HardwareDevices` (hardware-devices.ts).
 */
export interface HardwareDevice {
  /** `<N>` of `/dev/tenstorrent/<N>` (tt-kmd's device number; tt-metal's PCIe device id). */
  readonly ordinal: number;
  /** sysfs `tt_card_type` as the kernel names it ("n150", "p150a", "galaxy-wormhole"…), or "unknown". */
  readonly cardType: string;
  /** The allocator numbers of one chip of this card, where a preset is grounded for it (card-type.ts). */
  readonly preset: DevicePreset | undefined;
  readonly architecture: CardArchitecture;
  /** sysfs `tt_serial` (the board id), hex as the kernel prints it; absent when the attribute is. */
  readonly serial?: string;
  /** sysfs `tt_asic_id`, hex as the kernel prints it; absent when the attribute is. */
  readonly asicId?: string;
  /** Processes with the device open: deduplicated, sorted by pid. */
  readonly holders: readonly DeviceHolder[];
  /**
   * Where `holders` came from: "kmd" = tt-kmd's `/proc/driver/tenstorrent/<N>/pids` (every process, any
   * user); "fd-scan" = this user's view of `/proc/<pid>/fd` (other users' processes are not visible).
   */
  readonly holdersSource: HoldersSource;
}

export interface DeviceHolder {
  readonly pid: number;
  /** `/proc/<pid>/comm` (control characters shown as "?"), or "pid <n>" where it cannot be read. */
  readonly name: string;
}

export type HoldersSource = "kmd" | "fd-scan";

/** The chip architecture of a card, as the device presets name it, or "unknown". */
export type CardArchitecture = Exclude<Architecture, "TINY"> | "unknown";
