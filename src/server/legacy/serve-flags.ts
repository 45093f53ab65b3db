import type { LegacyFrameSetting } from "../../protocol/legacy/decoder.js";
import { LEGACY_DEFAULT_SOCKET_PATH } from "../../protocol/legacy/layout.js";
import { InvalidOptionError } from "../errors.js";
import {
  type LegacyDeviceConfig,
  type LegacyOptions,
  parseLegacyCount,
  parseLegacyDevice,
} from "./options.js";

/** The `allocwatch serve --legacy-*` flags as commander hands them over. */
export interface LegacyServeFlags {
  /** `true` when given without a path. */
  legacySocket?: string | boolean;
  legacyFrame?: LegacyFrameSetting;
  legacyDevice?: LegacyDeviceConfig[];
  legacyReorderWindow?: number;
  legacyMaxConnections?: number;
  legacyReplyPauseBytes?: number;
  legacyMaxReplyBytes?: number;
}

/** Accumulates repeated `--legacy-device` values. */
export function parseLegacyDeviceFlag(
  value: string,
  previous: LegacyDeviceConfig[] | undefined,
): LegacyDeviceConfig[] {
  return [...(previous ?? []), ...parseLegacyDevice(value)];
}

/** The budget flags' parsers (commander hands each value over as a string). */
export const parseLegacyMaxConnectionsFlag = (value: string): number =>
  parseLegacyCount("--legacy-max-connections", value, "256");
export const parseLegacyReplyPauseBytesFlag = (value: string): number =>
  parseLegacyCount("--legacy-reply-pause-bytes", value, "65536");
export const parseLegacyMaxReplyBytesFlag = (value: string): number =>
  parseLegacyCount("--legacy-max-reply-bytes", value, "1048576");

/**
 * startServer's `legacy` option from the flags: undefined when `--legacy-socket` is absent. The other
 * legacy flags without it are a mistake worth saying (they would silently do nothing).
 */
export function legacyServeOptions(flags: LegacyServeFlags): Partial<LegacyOptions> | undefined {
  if (flags.legacySocket === undefined || flags.legacySocket === false) {
    const stray = [
      flags.legacyFrame !== undefined && "--legacy-frame",
      flags.legacyDevice !== undefined && "--legacy-device",
      flags.legacyReorderWindow !== undefined && "--legacy-reorder-window",
      flags.legacyMaxConnections !== undefined && "--legacy-max-connections",
      flags.legacyReplyPauseBytes !== undefined && "--legacy-reply-pause-bytes",
      flags.legacyMaxReplyBytes !== undefined && "--legacy-max-reply-bytes",
    ].filter(Boolean);
    if (stray.length > 0) {
      throw new InvalidOptionError(
        `${stray.join(", ")} need --legacy-socket [path] to enable the legacy protocol`,
      );
    }
    return undefined;
  }
  const options: Partial<LegacyOptions> = {
    socketPath: flags.legacySocket === true ? LEGACY_DEFAULT_SOCKET_PATH : flags.legacySocket,
  };
  if (flags.legacyFrame !== undefined) options.frame = flags.legacyFrame;
  if (flags.legacyDevice !== undefined) options.devices = flags.legacyDevice;
  if (flags.legacyReorderWindow !== undefined) options.reorderWindowMs = flags.legacyReorderWindow;
  if (flags.legacyMaxConnections !== undefined) options.maxConnections = flags.legacyMaxConnections;
  if (flags.legacyReplyPauseBytes !== undefined) options.replyPauseBytes = flags.legacyReplyPauseBytes;
  if (flags.legacyMaxReplyBytes !== undefined) options.maxReplyBytes = flags.legacyMaxReplyBytes;
  return options;
}
