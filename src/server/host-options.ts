import { InvalidOptionError } from "./errors.js";
import { DEFAULT_HARDWARE_SCAN_INTERVAL_MS } from "./hardware/hardware-devices.js";
import { DEFAULT_TT_SHM_DIRECTORY, DEFAULT_TT_SHM_INTERVAL_MS } from "./tt-shm/tt-shm-source.js";

/**
 * Options of the two readers of the host (src/server/tt-shm, src/server/hardware). Off unless given:
 * embedding code and tests get a server that reads nothing of the host; `allocwatch serve` turns both on
 * by default (`--no-tt-shm`, `--no-hardware` turn them off).
 */

/** Root under which /dev/tenstorrent, /sys/class/tenstorrent and /proc/driver/tenstorrent are read. */
export const DEFAULT_DEV_ROOT = "/";

/** Slowest and fastest scan periods accepted, ms. */
const MIN_SCAN_INTERVAL_MS = 10;
const MAX_SCAN_INTERVAL_MS = 3_600_000;

export interface TtShmOptions {
  /** Directory holding `tt_device_<asic id>_memory` files. Default /dev/shm. */
  dir?: string;
  /** Period of the reads, ms (10..3600000). Default 100. */
  scanIntervalMs?: number;
}

export interface HardwareOptions {
  /** Root of the dev, sys and proc/driver trees (a fake tree in tests). Default "/". */
  devRoot?: string;
  /** Period of the card and holder scan, ms (10..3600000). Default 1000. */
  scanIntervalMs?: number;
}

export interface ResolvedTtShmOptions {
  dir: string;
  scanIntervalMs: number;
}

export interface ResolvedHardwareOptions {
  devRoot: string;
  scanIntervalMs: number;
}

export function resolveTtShmOptions(
  options: TtShmOptions | false | undefined,
): ResolvedTtShmOptions | undefined {
  if (options === undefined || options === false) return undefined;
  return {
    dir: nonEmptyPath(options.dir, DEFAULT_TT_SHM_DIRECTORY, "ttShm.dir (--tt-shm)"),
    scanIntervalMs: interval(
      options.scanIntervalMs,
      DEFAULT_TT_SHM_INTERVAL_MS,
      "ttShm.scanIntervalMs (--tt-shm-interval-ms)",
    ),
  };
}

export function resolveHardwareOptions(
  options: HardwareOptions | false | undefined,
): ResolvedHardwareOptions | undefined {
  if (options === undefined || options === false) return undefined;
  return {
    devRoot: nonEmptyPath(options.devRoot, DEFAULT_DEV_ROOT, "hardware.devRoot (--dev-root)"),
    scanIntervalMs: interval(
      options.scanIntervalMs,
      DEFAULT_HARDWARE_SCAN_INTERVAL_MS,
      "hardware.scanIntervalMs (--hardware-interval-ms)",
    ),
  };
}

function nonEmptyPath(value: string | undefined, fallback: string, name: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || value === "") {
    throw new InvalidOptionError(
      `${name} must be a directory path (leave it out for ${fallback}), got "${String(value)}"`,
    );
  }
  return value;
}

function interval(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < MIN_SCAN_INTERVAL_MS || value > MAX_SCAN_INTERVAL_MS) {
    throw new InvalidOptionError(
      `${name} must be a whole number of milliseconds from ${MIN_SCAN_INTERVAL_MS} to ${MAX_SCAN_INTERVAL_MS} ` +
        `(leave it out for ${fallback}), got ${value}`,
    );
  }
  return value;
}
