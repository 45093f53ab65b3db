import { writeU32, writeU64 } from "../little-endian.js";
import { LegacyProtocolError, LegacyProtocolErrorCode } from "./errors.js";
import {
  isLegacyFrameBytes,
  type LegacyArch,
  type LegacyFrameBytes,
  LegacyMessageType,
  LegacyOffset,
  legacyLayout,
} from "./layout.js";
import type { LegacyMessage } from "./message.js";

/** Per-device totals a RESPONSE carries, bytes. */
export interface LegacyDeviceCounters {
  dramBytes: number;
  l1Bytes: number;
  /** The original counts SYSTEM_MEMORY buffers here too. */
  l1SmallBytes: number;
  traceBytes: number;
  /** Not on the wire in the 72- and 112-byte layouts. */
  cbBytes: number;
  /** Not on the wire in the 72- and 112-byte layouts. */
  kernelBytes: number;
}

/** What a DEVICE_INFO_RESPONSE says about one device. */
export interface LegacyDeviceInfo {
  archType: LegacyArch;
  numDramChannels: number;
  /** u32 on the wire: larger values (e.g. 4 GiB channels) are sent as 0xFFFFFFFF. */
  dramSizePerChannelBytes: number;
  /** u32 on the wire, saturated like dramSizePerChannelBytes. */
  l1SizePerCoreBytes: number;
  totalDramBytes: number;
  totalL1Bytes: number;
}

const U32_MAX = 0xffffffff;
const U64_SAFE_MAX = Number.MAX_SAFE_INTEGER;

function frameBuffer(out: Uint8Array | undefined, frameBytes: LegacyFrameBytes): Uint8Array {
  if (!isLegacyFrameBytes(frameBytes)) {
    throw new LegacyProtocolError(
      LegacyProtocolErrorCode.INVALID_VALUE,
      `legacy frame size must be 72, 112 or 144, got ${String(frameBytes)}`,
    );
  }
  if (out === undefined) return new Uint8Array(frameBytes);
  if (out.length < frameBytes) {
    throw new LegacyProtocolError(
      LegacyProtocolErrorCode.INVALID_VALUE,
      `output buffer holds ${out.length} bytes, a frame needs ${frameBytes}`,
    );
  }
  out.fill(0, 0, frameBytes);
  return out;
}

/** Counters never go below zero or above what a u64 can exactly carry from a JS number. */
function u64(value: number): number {
  if (!(value > 0)) return 0;
  return value > U64_SAFE_MAX ? U64_SAFE_MAX : Math.floor(value);
}

function u32(value: number): number {
  if (!(value > 0)) return 0;
  return value > U32_MAX ? U32_MAX : Math.floor(value);
}

function writeI32(bytes: Uint8Array, offset: number, value: number): void {
  writeU32(bytes, offset, value >>> 0);
}

/** Writes a field the layout has; `offset` -1 (absent from this layout) writes nothing. */
function putU32(bytes: Uint8Array, offset: number, value: number): void {
  if (offset >= 0) writeU32(bytes, offset, u32(value));
}

function putU64(bytes: Uint8Array, offset: number, value: number): void {
  if (offset >= 0) writeU64(bytes, offset, u64(value));
}

/**
 * A RESPONSE (type 4) to QUERY: device id echoed, the counters at the original offsets
 * (DRAM 40, L1 48, L1_SMALL 56, TRACE 64, in every layout; 144-byte layout only: CB 72, KERNEL 80).
 * Everything else 0.
 * Writes into `out` (zero-filled first) when given, else into a new array. Returns the frame bytes.
 */
export function encodeLegacyResponse(
  frameBytes: LegacyFrameBytes,
  deviceId: number,
  counters: LegacyDeviceCounters,
  out?: Uint8Array,
): Uint8Array {
  const bytes = frameBuffer(out, frameBytes);
  const layout = legacyLayout(frameBytes);
  bytes[LegacyOffset.TYPE] = LegacyMessageType.RESPONSE;
  writeI32(bytes, LegacyOffset.DEVICE_ID, deviceId);
  writeU64(bytes, LegacyOffset.DRAM_ALLOCATED, u64(counters.dramBytes));
  writeU64(bytes, LegacyOffset.L1_ALLOCATED, u64(counters.l1Bytes));
  writeU64(bytes, LegacyOffset.L1_SMALL_ALLOCATED, u64(counters.l1SmallBytes));
  writeU64(bytes, LegacyOffset.TRACE_ALLOCATED, u64(counters.traceBytes));
  putU64(bytes, layout.cbAllocated, counters.cbBytes);
  putU64(bytes, layout.kernelAllocated, counters.kernelBytes);
  return bytes.subarray(0, frameBytes);
}

/**
 * A DEVICE_INFO_RESPONSE (type 7), device id echoed. For the count query (device -1): num_devices and
 * is_available = (num_devices > 0). For a known device: is_available = 1, arch, DRAM channels and sizes,
 * L1 per core, totals; ring-buffer fields 0 (the original never filled them). For an unknown device
 * (`info` undefined): all fields 0, as the original answered. The 72-byte layout has none of these
 * fields: its answer carries the type and the device id only.
 */
export function encodeLegacyDeviceInfoResponse(
  frameBytes: LegacyFrameBytes,
  deviceId: number,
  answer: { numDevices: number } | { info: LegacyDeviceInfo | undefined },
  out?: Uint8Array,
): Uint8Array {
  const bytes = frameBuffer(out, frameBytes);
  const layout = legacyLayout(frameBytes);
  bytes[LegacyOffset.TYPE] = LegacyMessageType.DEVICE_INFO_RESPONSE;
  writeI32(bytes, LegacyOffset.DEVICE_ID, deviceId);
  if ("numDevices" in answer) {
    const count = u32(answer.numDevices);
    putU32(bytes, layout.numDevices, count);
    putU32(bytes, layout.isAvailable, count > 0 ? 1 : 0);
  } else if (answer.info !== undefined) {
    const info = answer.info;
    putU32(bytes, layout.isAvailable, 1);
    putU32(bytes, layout.archType, info.archType);
    putU32(bytes, layout.numDramChannels, info.numDramChannels);
    putU32(bytes, layout.dramSizePerChannel, info.dramSizePerChannelBytes);
    putU32(bytes, layout.l1SizePerCore, info.l1SizePerCoreBytes);
    putU64(bytes, layout.totalDramSize, info.totalDramBytes);
    putU64(bytes, layout.totalL1Size, info.totalL1Bytes);
  }
  return bytes.subarray(0, frameBytes);
}

/**
 * A request frame as the original clients build it (zero-filled struct, then the fields). For
 * benchmarks, load generators and round-trip tests; the server never sends requests.
 * `sizeBytes` and `bufferId` must be integers in [0, 2^53).
 */
export function encodeLegacyRequest(
  frameBytes: LegacyFrameBytes,
  message: LegacyMessage,
  out?: Uint8Array,
): Uint8Array {
  const bytes = frameBuffer(out, frameBytes);
  for (const [name, value] of [
    ["sizeBytes", message.sizeBytes],
    ["bufferId", message.bufferId],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new LegacyProtocolError(
        LegacyProtocolErrorCode.INVALID_VALUE,
        `${name} must be an integer in [0, 2^53), got ${value}`,
      );
    }
  }
  bytes[LegacyOffset.TYPE] = message.type;
  writeI32(bytes, LegacyOffset.DEVICE_ID, message.deviceId);
  writeU64(bytes, LegacyOffset.SIZE, message.sizeBytes);
  bytes[LegacyOffset.BUFFER_TYPE] = message.bufferType;
  writeI32(bytes, LegacyOffset.PROCESS_ID, message.processId);
  writeU64(bytes, LegacyOffset.BUFFER_ID, message.bufferId);
  return bytes.subarray(0, frameBytes);
}
