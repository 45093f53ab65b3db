// Builds and reads original tt-metal AllocMessage frames straight from the documented byte layout
// (docs/PROTOCOL.md, L2), independently of src/protocol/legacy: the tests check
// the project's codec against these hand-written offsets, never against itself.

export const TYPE = {
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

export interface Request {
  type: number;
  deviceId: number;
  size: number;
  bufferType: number;
  pid: number;
  bufferId: number;
  timestamp?: bigint;
}

/** A request exactly as the original clients send it: memset 0, then the fields at their offsets. */
export function request(frameBytes: 72 | 112 | 144, r: Request): Uint8Array {
  const bytes = new Uint8Array(frameBytes);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, r.type); // type u8 @0, pad1 @1..3
  view.setInt32(4, r.deviceId, true); // device_id i32 @4
  view.setBigUint64(8, BigInt(r.size), true); // size u64 @8
  view.setUint8(16, r.bufferType); // buffer_type u8 @16, pad2 @17..19
  view.setInt32(20, r.pid, true); // process_id i32 @20
  view.setBigUint64(24, BigInt(r.bufferId), true); // buffer_id u64 @24
  view.setBigUint64(32, r.timestamp ?? 0n, true); // timestamp u64 @32
  return bytes;
}

export function concat(frames: readonly Uint8Array[]): Uint8Array {
  const total = frames.reduce((n, f) => n + f.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const f of frames) {
    out.set(f, at);
    at += f.length;
  }
  return out;
}

/** The documented response offsets, per layout. */
export const RESPONSE_OFFSETS = {
  72: {
    dram: 40,
    l1: 48,
    l1Small: 56,
    trace: 64,
  },
  112: {
    dram: 40,
    l1: 48,
    l1Small: 56,
    trace: 64,
    totalDram: 72,
    totalL1: 80,
    arch: 88,
    channels: 92,
    dramPerChannel: 96,
    l1PerCore: 100,
    isAvailable: 104,
    numDevices: 108,
  },
  144: {
    dram: 40,
    l1: 48,
    l1Small: 56,
    trace: 64,
    cb: 72,
    kernel: 80,
    totalDram: 88,
    totalL1: 96,
    arch: 104,
    channels: 108,
    dramPerChannel: 112,
    l1PerCore: 116,
    isAvailable: 120,
    numDevices: 124,
    ringTotal: 128,
    ringUsed: 132,
    ringPrograms: 136,
    pad3: 140,
  },
} as const;

export function u8(bytes: Uint8Array, offset: number): number {
  return bytes[offset]!;
}
export function i32(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(offset, true);
}
export function u32(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true);
}
export function u64(bytes: Uint8Array, offset: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset, true);
}

/** Every byte in [from, to) is zero. */
export function zeroBetween(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}
