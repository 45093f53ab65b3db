/**
 * The original tt-metal allocation server's wire format (`AllocMessage`, allocation_server_poc.cpp):
 * a packed struct copied as a host-order (little-endian on x86-64) memory image, no header, no length,
 * no magic. Three sizes shipped: 72 bytes (v1: allocation_server_enhanced, allocation_monitor_client
 * @83d2190, dump_remaining_buffers.py), 112 bytes (server @02f8b0c/@4503985, allocation_client.py,
 * allocation_monitor_client @90698e2) and 144 bytes (server @a81ea34, tt_smi_umd, the final tt-metal
 * client). Offsets 0..71 are the same in all three; the response fields after that differ (72 has none).
 * Documented in docs/PROTOCOL.md ("Legacy protocol", L2 and L3).
 */

/** `AllocMessage::Type`, the u8 at offset 0. */
export const LegacyMessageType = {
  ALLOC: 1,
  FREE: 2,
  QUERY: 3,
  RESPONSE: 4,
  DUMP_REMAINING: 5,
  DEVICE_INFO_QUERY: 6,
  DEVICE_INFO_RESPONSE: 7,
  CB_ALLOC: 8,
  CB_FREE: 9,
  KERNEL_LOAD: 10,
  KERNEL_UNLOAD: 11,
  DUMP_KERNELS: 12,
} as const;
export type LegacyMessageType = (typeof LegacyMessageType)[keyof typeof LegacyMessageType];

/** Highest type value the original protocol defines. */
export const LEGACY_MAX_MESSAGE_TYPE = 12;

export const LEGACY_MESSAGE_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: "ALLOC",
  2: "FREE",
  3: "QUERY",
  4: "RESPONSE",
  5: "DUMP_REMAINING",
  6: "DEVICE_INFO_QUERY",
  7: "DEVICE_INFO_RESPONSE",
  8: "CB_ALLOC",
  9: "CB_FREE",
  10: "KERNEL_LOAD",
  11: "KERNEL_UNLOAD",
  12: "DUMP_KERNELS",
};

/**
 * The `buffer_type` byte of ALLOC as the original server decodes it (tt-metal's BufferType order).
 * Some copies of the struct comment (and the Python client's enum) say 2=L1_SMALL, 3=TRACE: they are
 * wrong; the server and tt-metal agree on this table.
 */
export const LegacyBufferType = {
  DRAM: 0,
  L1: 1,
  SYSTEM_MEMORY: 2,
  L1_SMALL: 3,
  TRACE: 4,
} as const;
export type LegacyBufferType = (typeof LegacyBufferType)[keyof typeof LegacyBufferType];
export const LEGACY_MAX_BUFFER_TYPE = 4;

/** The `buffer_type` byte of KERNEL_LOAD carries the kernel type instead. */
export const LegacyKernelType = {
  APPLICATION: 0,
  FABRIC: 1,
  DISPATCH: 2,
} as const;
export type LegacyKernelType = (typeof LegacyKernelType)[keyof typeof LegacyKernelType];

/** `arch_type` of DEVICE_INFO_RESPONSE (tt::ARCH order). */
export const LegacyArch = {
  INVALID: 0,
  GRAYSKULL: 1,
  WORMHOLE_B0: 2,
  BLACKHOLE: 3,
  QUASAR: 4,
} as const;
export type LegacyArch = (typeof LegacyArch)[keyof typeof LegacyArch];

/** DEVICE_INFO_QUERY with this device id asks for the number of devices. */
export const LEGACY_DEVICE_COUNT_QUERY = -1;

/** The original server's socket path (compile-time constant TT_ALLOC_SERVER_SOCKET). */
export const LEGACY_DEFAULT_SOCKET_PATH = "/tmp/tt_allocation_server.sock";

export type LegacyFrameBytes = 72 | 112 | 144;

/** Every layout, smallest first. */
export const LEGACY_FRAME_SIZES: readonly LegacyFrameBytes[] = [72, 112, 144];

/** Offsets shared by every layout, bytes from the start of the frame. */
export const LegacyOffset = {
  TYPE: 0, // u8
  PAD1: 1, // u8[3]
  DEVICE_ID: 4, // i32
  SIZE: 8, // u64
  BUFFER_TYPE: 16, // u8
  PAD2: 17, // u8[3]
  PROCESS_ID: 20, // i32
  BUFFER_ID: 24, // u64
  TIMESTAMP: 32, // u64 (the server never reads it)
  DRAM_ALLOCATED: 40, // u64
  L1_ALLOCATED: 48, // u64
  L1_SMALL_ALLOCATED: 56, // u64
  TRACE_ALLOCATED: 64, // u64
} as const;

/** First byte of the response-only fields: a request (client → server) carries zeros from here on. */
export const LEGACY_RESPONSE_FIELDS_OFFSET = 40;

/** Offsets of the fields whose position depends on the layout, bytes. -1 = absent from this layout. */
export interface LegacyLayout {
  frameBytes: LegacyFrameBytes;
  cbAllocated: number; // u64
  kernelAllocated: number; // u64
  totalDramSize: number; // u64
  totalL1Size: number; // u64
  archType: number; // u32
  numDramChannels: number; // u32
  dramSizePerChannel: number; // u32
  l1SizePerCore: number; // u32
  isAvailable: number; // u32
  numDevices: number; // u32
  ringbufferTotalSize: number; // u32
  ringbufferUsedBytes: number; // u32
  ringbufferNumPrograms: number; // u32
  pad3: number; // u32
}

/** v1: the request fields and the four counters of a RESPONSE; no CB/kernel counters, no device info. */
export const LEGACY_LAYOUT_72: LegacyLayout = Object.freeze({
  frameBytes: 72,
  cbAllocated: -1,
  kernelAllocated: -1,
  totalDramSize: -1,
  totalL1Size: -1,
  archType: -1,
  numDramChannels: -1,
  dramSizePerChannel: -1,
  l1SizePerCore: -1,
  isAvailable: -1,
  numDevices: -1,
  ringbufferTotalSize: -1,
  ringbufferUsedBytes: -1,
  ringbufferNumPrograms: -1,
  pad3: -1,
});

export const LEGACY_LAYOUT_112: LegacyLayout = Object.freeze({
  frameBytes: 112,
  cbAllocated: -1,
  kernelAllocated: -1,
  totalDramSize: 72,
  totalL1Size: 80,
  archType: 88,
  numDramChannels: 92,
  dramSizePerChannel: 96,
  l1SizePerCore: 100,
  isAvailable: 104,
  numDevices: 108,
  ringbufferTotalSize: -1,
  ringbufferUsedBytes: -1,
  ringbufferNumPrograms: -1,
  pad3: -1,
});

export const LEGACY_LAYOUT_144: LegacyLayout = Object.freeze({
  frameBytes: 144,
  cbAllocated: 72,
  kernelAllocated: 80,
  totalDramSize: 88,
  totalL1Size: 96,
  archType: 104,
  numDramChannels: 108,
  dramSizePerChannel: 112,
  l1SizePerCore: 116,
  isAvailable: 120,
  numDevices: 124,
  ringbufferTotalSize: 128,
  ringbufferUsedBytes: 132,
  ringbufferNumPrograms: 136,
  pad3: 140,
});

export function legacyLayout(frameBytes: LegacyFrameBytes): LegacyLayout {
  if (frameBytes === 72) return LEGACY_LAYOUT_72;
  return frameBytes === 112 ? LEGACY_LAYOUT_112 : LEGACY_LAYOUT_144;
}

export function isLegacyFrameBytes(value: unknown): value is LegacyFrameBytes {
  return value === 72 || value === 112 || value === 144;
}

/** The largest frame of any layout, bytes. */
export const LEGACY_MAX_FRAME_BYTES = 144;
