import {
  BLACKHOLE_P150,
  type DevicePreset,
  WORMHOLE_B0_N150,
  WORMHOLE_B0_N300,
} from "../../device/presets.js";
import type { CardArchitecture } from "./hardware-device.js";

export interface CardTypeFacts {
  readonly architecture: CardArchitecture;
  readonly preset: DevicePreset | undefined;
}

const UNKNOWN: CardTypeFacts = { architecture: "unknown", preset: undefined };

/**
 * tt-kmd's card-type names (its sysfs `tt_card_type`) and what is known of each. A preset is given only
 * where its numbers are grounded in tt-metal (src/device/presets.ts). The others have no fixed numbers:
 * p100/p100a and p300 chips are harvested per chip (Tensix columns, a DRAM bank on p100) and tt-metal reads
 * the harvesting from the firmware at run time; Galaxy chips dispatch from rows that depend on the system.
 */
const CARD_TYPES: ReadonlyMap<string, CardTypeFacts> = new Map<string, CardTypeFacts>([
  ["n150", { architecture: "WORMHOLE_B0", preset: WORMHOLE_B0_N150 }],
  ["n300", { architecture: "WORMHOLE_B0", preset: WORMHOLE_B0_N300 }],
  ["galaxy-wormhole", { architecture: "WORMHOLE_B0", preset: undefined }],
  ["p100", { architecture: "BLACKHOLE", preset: undefined }],
  ["p100a", { architecture: "BLACKHOLE", preset: undefined }],
  ["p150a", { architecture: "BLACKHOLE", preset: BLACKHOLE_P150 }],
  ["p150b", { architecture: "BLACKHOLE", preset: BLACKHOLE_P150 }],
  ["p150c", { architecture: "BLACKHOLE", preset: BLACKHOLE_P150 }],
  ["p300a", { architecture: "BLACKHOLE", preset: undefined }],
  ["p300b", { architecture: "BLACKHOLE", preset: undefined }],
  ["p300c", { architecture: "BLACKHOLE", preset: undefined }],
  ["galaxy-blackhole", { architecture: "BLACKHOLE", preset: undefined }],
]);

/** PCI device ids tt-kmd binds (the standard sysfs `device` attribute of the PCI function). */
const PCI_DEVICE_IDS: ReadonlyMap<string, CardArchitecture> = new Map<string, CardArchitecture>([
  ["0x401e", "WORMHOLE_B0"],
  ["0xb140", "BLACKHOLE"],
]);

/**
 * What a card type tells: its architecture and, where grounded, the preset of one of its chips.
 * `pciDeviceId` ("0x401e") names the architecture when the card type does not (an older tt-kmd, or firmware
 * that does not report the board id).
 */
export function cardTypeFacts(cardType: string, pciDeviceId?: string): CardTypeFacts {
  const known = CARD_TYPES.get(cardType);
  if (known !== undefined) return known;
  const architecture = pciDeviceId === undefined ? undefined : PCI_DEVICE_IDS.get(pciDeviceId.toLowerCase());
  return architecture === undefined ? UNKNOWN : { architecture, preset: undefined };
}

/** Every card-type name tt-kmd may report, besides "unknown". */
export const KNOWN_CARD_TYPES: readonly string[] = [...CARD_TYPES.keys()];
