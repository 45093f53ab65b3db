import { DEVICE_PRESETS, type DevicePreset } from "../../device/presets.js";
import type { LegacyFrameSetting } from "../../protocol/legacy/decoder.js";
import { isLegacyFrameBytes, LEGACY_DEFAULT_SOCKET_PATH } from "../../protocol/legacy/layout.js";
import { InvalidOptionError } from "../errors.js";

/** One `--legacy-device ID=PRESET`: legacy frames carry no capacities, so configuration supplies them. */
export interface LegacyDeviceConfig {
  deviceId: number;
  preset: DevicePreset;
}

/** Everything the legacy adapter needs, validated (see `resolveLegacyOptions`). */
export interface LegacyOptions {
  /** Unix socket the original clients connect to (default /tmp/tt_allocation_server.sock). */
  socketPath: string;
  /** `--legacy-frame`: 72, 112, 144 or "auto" (per connection, from its first bytes). */
  frame: LegacyFrameSetting;
  /** Devices with known capacities. Others are learned from traffic with unknown sizes (device-table.ts). */
  devices: LegacyDeviceConfig[];
  /** `--legacy-reorder-window`: how long a FREE of an unknown buffer waits for its late ALLOC, ms. 0 = off. */
  reorderWindowMs: number;
  /** FREEs held at once per process by the reorder window; beyond it they count as unknown at once. */
  maxHeldFrees: number;
  /**
   * How long a peer must stay silent for the bytes held to be decided on (auto-detection holding
   * exactly 72 or 112 bytes; a quarantine holding a plausible last frame), ms.
   */
  detectIdleMs: number;
  /** `--legacy-max-connections`: legacy connections open at once; a new one past it is closed at once. */
  maxConnections: number;
  /** `--legacy-reply-pause-bytes`: unsent reply bytes of one connection past which it is not read, bytes. */
  replyPauseBytes: number;
  /** `--legacy-max-reply-bytes`: unsent reply bytes of one connection past which it is closed, bytes. */
  maxReplyBytes: number;
}

export const DEFAULT_LEGACY_OPTIONS: Omit<LegacyOptions, "devices"> = {
  socketPath: LEGACY_DEFAULT_SOCKET_PATH,
  frame: "auto",
  reorderWindowMs: 0,
  maxHeldFrees: 4096,
  detectIdleMs: 25,
  maxConnections: 256,
  replyPauseBytes: 64 * 1024,
  maxReplyBytes: 1024 * 1024,
};

/** Highest device id a legacy client may use (native device ids are u16 with 0xFFFF reserved). */
export const LEGACY_MAX_DEVICE_ID = 0xfffe;

/**
 * Parses one `--legacy-device` value: `ID=PRESET` or `FIRST-LAST=PRESET` (e.g. `0-7=wormhole_b0_n150`).
 * Throws InvalidOptionError with the fix in the message.
 */
export function parseLegacyDevice(spec: string): LegacyDeviceConfig[] {
  const presets = Object.keys(DEVICE_PRESETS).join(", ");
  const match = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*=\s*([A-Za-z0-9_.-]+)\s*$/.exec(spec);
  if (match === null) {
    throw new InvalidOptionError(
      `--legacy-device "${spec}": expected ID=PRESET or FIRST-LAST=PRESET, e.g. 0=wormhole_b0_n150 (presets: ${presets})`,
    );
  }
  const first = Number(match[1]);
  const last = match[2] === undefined ? first : Number(match[2]);
  const preset = DEVICE_PRESETS[match[3]!];
  if (preset === undefined) {
    throw new InvalidOptionError(
      `--legacy-device "${spec}": unknown preset "${match[3]}" (presets: ${presets})`,
    );
  }
  if (first > LEGACY_MAX_DEVICE_ID || last > LEGACY_MAX_DEVICE_ID || last < first) {
    throw new InvalidOptionError(
      `--legacy-device "${spec}": device ids must be 0..${LEGACY_MAX_DEVICE_ID}, and FIRST <= LAST`,
    );
  }
  const out: LegacyDeviceConfig[] = [];
  for (let id = first; id <= last; id++) out.push({ deviceId: id, preset });
  return out;
}

export function parseLegacyFrame(value: string): LegacyFrameSetting {
  const v = value.trim();
  if (v === "72") return 72;
  if (v === "112") return 112;
  if (v === "144") return 144;
  if (v === "auto") return "auto";
  throw new InvalidOptionError(`--legacy-frame "${value}": use 72, 112, 144 or auto`);
}

/** `--legacy-max-connections N`, `--legacy-reply-pause-bytes N`, `--legacy-max-reply-bytes N`: a whole number >= 1. */
export function parseLegacyCount(flag: string, value: string, example: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidOptionError(`${flag} "${value}": give a whole number >= 1, e.g. ${example}`);
  }
  return n;
}

export function parseReorderWindowMs(value: string): number {
  const ms = Number(value);
  if (value.trim() === "" || !Number.isInteger(ms) || ms < 0 || ms > 60_000) {
    throw new InvalidOptionError(
      `--legacy-reorder-window "${value}": give a whole number of milliseconds, 0..60000 (0 = off)`,
    );
  }
  return ms;
}

/** Fills defaults and checks the whole set once (duplicate device ids, ranges). */
export function resolveLegacyOptions(
  options: Partial<LegacyOptions> & { devices?: LegacyDeviceConfig[] },
): LegacyOptions {
  const resolved: LegacyOptions = { ...DEFAULT_LEGACY_OPTIONS, devices: [], ...options };
  if (typeof resolved.socketPath !== "string" || resolved.socketPath === "") {
    throw new InvalidOptionError("legacy socketPath must be a non-empty path");
  }
  if (!isLegacyFrameBytes(resolved.frame) && resolved.frame !== "auto") {
    throw new InvalidOptionError(
      `legacy frame must be 72, 112, 144 or "auto", got ${String(resolved.frame)}`,
    );
  }
  const seen = new Set<number>();
  for (const device of resolved.devices) {
    if (seen.has(device.deviceId)) {
      throw new InvalidOptionError(
        `--legacy-device: device ${device.deviceId} is configured twice; give each id once`,
      );
    }
    seen.add(device.deviceId);
  }
  for (const [name, value, min] of [
    ["reorderWindowMs", resolved.reorderWindowMs, 0],
    ["maxHeldFrees", resolved.maxHeldFrees, 1],
    ["detectIdleMs", resolved.detectIdleMs, 1],
    ["maxConnections (--legacy-max-connections)", resolved.maxConnections, 1],
    ["replyPauseBytes (--legacy-reply-pause-bytes)", resolved.replyPauseBytes, 1],
    ["maxReplyBytes (--legacy-max-reply-bytes)", resolved.maxReplyBytes, 1],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < min) {
      throw new InvalidOptionError(`legacy ${name} must be an integer >= ${min}, got ${String(value)}`);
    }
  }
  if (resolved.replyPauseBytes >= resolved.maxReplyBytes) {
    throw new InvalidOptionError(
      `legacy replyPauseBytes (--legacy-reply-pause-bytes, ${resolved.replyPauseBytes}) must be below ` +
        `maxReplyBytes (--legacy-max-reply-bytes, ${resolved.maxReplyBytes}): a connection stops being ` +
        "read at the first and is closed at the second",
    );
  }
  return resolved;
}
