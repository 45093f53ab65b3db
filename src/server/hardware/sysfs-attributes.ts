import { join } from "node:path";
import { readBounded } from "./bounded-read.js";
import { errorCode, type ScanProblems } from "./scan-problems.js";

/**
 * The attributes of `/sys/class/tenstorrent/tenstorrent!<N>/` the scanner uses. tt-kmd shows a telemetry
 * attribute only when the firmware reports its tag, so each may be absent; the PCI device id comes from
 * the standard `device/device` attribute of the PCI function.
 */
export interface CardAttributes {
  /** `tt_card_type`, lower case; "unknown" when absent or not a card-type word. */
  readonly cardType: string;
  /** `tt_serial`, as printed (hex). */
  readonly serial?: string;
  /** `tt_asic_id`, as printed (hex). */
  readonly asicId?: string;
  /** `device/device`, e.g. "0x401e". */
  readonly pciDeviceId?: string;
}

/** Bytes read of one attribute (they are a word or a number). */
const MAX_ATTRIBUTE_BYTES = 256;
const CARD_TYPE = /^[a-z0-9][a-z0-9._-]{0,31}$/;
const HEX_ID = /^(0x)?[0-9a-f]{1,16}$/i;
const PCI_ID = /^0x[0-9a-f]{4}$/i;

/** The sysfs class directory of device `ordinal` under `devRoot` (sysfs writes "/" of "tenstorrent/N" as "!"). */
export function sysfsDirectory(devRoot: string, ordinal: number): string {
  return join(devRoot, "sys", "class", "tenstorrent", `tenstorrent!${ordinal}`);
}

/**
 * Reads the attributes of one device. A missing attribute (ENOENT) is normal and silent; any other read
 * failure, or text of the wrong shape, is reported once and the attribute treated as absent.
 */
export function readCardAttributes(
  directory: string,
  ordinal: number,
  problems: ScanProblems,
): CardAttributes {
  const read = (name: string, shape: RegExp): string | undefined => {
    const path = join(directory, name);
    let text: string;
    try {
      text = readBounded(path, MAX_ATTRIBUTE_BYTES).trim();
    } catch (error) {
      const code = errorCode(error);
      if (code !== "ENOENT" && code !== "ENOTDIR") {
        problems.report(
          `sysfs-read:${ordinal}:${name}:${code}`,
          { path, code },
          "cannot read a device attribute",
        );
      }
      return undefined;
    }
    if (name === "tt_card_type") text = text.toLowerCase();
    if (shape.test(text)) return text;
    problems.report(
      `sysfs-shape:${ordinal}:${name}`,
      { path, text: text.slice(0, 40) },
      "a device attribute is not of the expected form; ignored",
    );
    return undefined;
  };
  const serial = read("tt_serial", HEX_ID);
  const asicId = read("tt_asic_id", HEX_ID);
  const pciDeviceId = read(join("device", "device"), PCI_ID);
  return {
    cardType: read("tt_card_type", CARD_TYPE) ?? "unknown",
    ...(serial === undefined ? {} : { serial }),
    ...(asicId === undefined ? {} : { asicId }),
    ...(pciDeviceId === undefined ? {} : { pciDeviceId }),
  };
}
