/**
 * Decodes one tt-metal shared-memory region (layouts in ./layout.ts) into plain values, or says why it
 * cannot. Runs ten times a second per region file, so it reads the bytes in place with the
 * little-endian helpers and allocates only the result: one object per used chip entry and per used
 * process slot, each with its counters as a 7-element array indexed by MemoryType.
 */
import { readU32, readU64 } from "../little-endian.js";
import type { MemoryType } from "../memory-type.js";
import { decodeUtf8 } from "../utf8.js";
import {
  TT_SHM_INIT_IN_PROGRESS,
  TT_SHM_INIT_READY,
  TT_SHM_INIT_UNINITIALISED,
  TT_SHM_MAX_CHIPS,
  TT_SHM_MAX_PROCESSES,
  TT_SHM_PROCESS_NAME_BYTES,
  TT_SHM_SLOT_RELEASING,
  type TtShmLayout,
  type TtShmVersion,
  ttShmLayout,
} from "./layout.js";
import { type TtShmProblem, TtShmProblemCode } from "./problems.js";

/**
 * Largest device or chip id taken as real: it must fit allocwatch's u16 device id, whose 0xFFFF means
 * "all devices". Anything above is garbage (tt-metal's ids are small: one per chip on the host).
 */
export const TT_SHM_MAX_DEVICE_ID = 0xfffe;
/** Largest pid Linux can hand out (PID_MAX_LIMIT on 64-bit kernels); a larger slot pid is garbage. */
export const TT_SHM_MAX_PID = 4_194_304;

export interface TtShmChip {
  /** tt-metal's chip id; entry 0 of a v2+ region is the device itself, others are remote chips behind it. */
  readonly chipId: number;
  readonly remote: boolean;
  /** Bytes in use, indexed by MemoryType (SYSTEM_MEMORY always 0; KERNEL non-zero only in v1). */
  readonly usedBytes: readonly number[];
}

export interface TtShmSlot {
  /** Position in the region's process table (0..63). */
  readonly index: number;
  /** Always > 0: free (0) and releasing (-1) slots are left out. */
  readonly pid: number;
  /** The writer's `/proc/<pid>/comm`, as stored (at most 63 bytes). */
  readonly name: string;
  /** Bytes in use by this process, indexed by MemoryType. */
  readonly usedBytes: readonly number[];
  /** The slot's last update, ns on the region's clock (`lastUpdateClock`); 0 = never written. */
  readonly lastUpdateNs: number;
}

export interface TtShmRegion {
  readonly version: TtShmVersion;
  /** tt-metal's logical device id of the process that attached last. */
  readonly deviceId: number;
  /** The chip's unique id as an unsigned decimal string (a u64 can exceed 2^53); v1's split id rejoined. */
  readonly asicId: string;
  /**
   * The region's last update in ns, as a number: exact below 2^53, otherwise the nearest double (within
   * 256 ns for present-day epoch times). Clock: see `lastUpdateClock`.
   */
  readonly lastUpdateNs: number;
  /** "system": ns since the Unix epoch (v2+). "steady": a monotonic clock with a per-boot origin (v1). */
  readonly lastUpdateClock: "system" | "steady";
  /** Device-wide bytes in use over every process, indexed by MemoryType (a dead process's bytes included until reaped). */
  readonly totalsBytes: readonly number[];
  /** Used chip-table entries only, in table order. */
  readonly chips: readonly TtShmChip[];
  /** Used process slots only (pid > 0), in table order. */
  readonly slots: readonly TtShmSlot[];
}

export type TtShmDecodeResult =
  | { readonly ok: true; readonly region: TtShmRegion }
  | { readonly ok: false; readonly problem: TtShmProblem };

const TWO_POW_32 = 4294967296;
/** A u64 whose high word is >= 2^21 is >= 2^53. */
const U64_EXACT_HIGH_LIMIT = 0x200000;

/**
 * Decodes the region in `bytes[0 .. byteLength)` (the rest of `bytes`, a reused read buffer, is ignored).
 * Bytes past the layout's size are ignored too. Never throws.
 */
export function decodeTtShmRegion(bytes: Uint8Array, byteLength: number): TtShmDecodeResult {
  const length = byteLength > 0 ? Math.min(Math.floor(byteLength), bytes.length) : 0;
  if (length < 4) return problem(TtShmProblemCode.TOO_SHORT, `${length} bytes: not even a version field`);
  const version = readU32(bytes, 0);
  if (version === 0)
    return problem(TtShmProblemCode.INITIALISING, "version 0: the region is not initialised yet");
  const layout = ttShmLayout(version);
  if (layout === undefined)
    return problem(TtShmProblemCode.UNKNOWN_VERSION, `version ${version}: no known layout (1..4)`);
  if (length < layout.regionBytes)
    return problem(
      TtShmProblemCode.TOO_SHORT,
      `${length} bytes, version ${version} regions are ${layout.regionBytes} bytes`,
    );
  if (layout.initStateOffset >= 0) {
    const initState = readU32(bytes, layout.initStateOffset);
    if (initState !== TT_SHM_INIT_READY) {
      if (initState === TT_SHM_INIT_UNINITIALISED || initState === TT_SHM_INIT_IN_PROGRESS)
        return problem(TtShmProblemCode.INITIALISING, `init_state ${initState}: the region is not ready yet`);
      return implausible(`init_state 0x${initState.toString(16)} at offset ${layout.initStateOffset}`);
    }
  }
  const numActive = readU32(bytes, layout.numActiveProcessesOffset);
  if (layout.numActiveExact && numActive > TT_SHM_MAX_PROCESSES)
    return implausible(`num_active_processes ${numActive} > ${TT_SHM_MAX_PROCESSES}`);
  const rawDeviceId = readU32(bytes, layout.deviceIdOffset);
  const deviceId = layout.deviceIdSigned ? rawDeviceId | 0 : rawDeviceId;
  if (deviceId < 0 || deviceId > TT_SHM_MAX_DEVICE_ID)
    return implausible(`device_id ${deviceId} at offset ${layout.deviceIdOffset}`);
  const asicId = layout.asicIdSplit ? splitAsicId(bytes, layout) : u64Decimal(bytes, layout.asicIdOffset);
  if (asicId === undefined)
    return implausible(
      `asic_id ${u64Decimal(bytes, layout.asicIdOffset)} at offset ${layout.asicIdOffset} (v1 keeps its low byte only) ` +
        `with board_serial ${u64Decimal(bytes, layout.boardSerialOffset)}`,
    );
  const totalsBytes = readCounters(bytes, layout.totalsOffset, layout.counterTypes);
  if (totalsBytes === undefined) return badCounter(layout.totalsOffset);

  const chips: TtShmChip[] = [];
  for (let i = 0; i < TT_SHM_MAX_CHIPS; i++) {
    const entry = layout.chipTableOffset + i * layout.chipEntryBytes;
    const chipId = readU32(bytes, entry + layout.chipIdOffset);
    const countersAt = entry + layout.chipCountersOffset;
    if (chipId === layout.chipUnused && (layout.version > 1 || countersZero(bytes, countersAt, layout)))
      continue;
    if (chipId > TT_SHM_MAX_DEVICE_ID) return implausible(`chip_id ${chipId} in chip entry ${i}`);
    const remote = readU32(bytes, entry + layout.chipRemoteOffset);
    if (remote > 1) return implausible(`is_remote ${remote} in chip entry ${i}`);
    const usedBytes = readCounters(bytes, countersAt, layout.counterTypes);
    if (usedBytes === undefined) return badCounter(countersAt);
    chips.push({ chipId, remote: remote === 1, usedBytes });
  }

  const slots: TtShmSlot[] = [];
  for (let index = 0; index < TT_SHM_MAX_PROCESSES; index++) {
    const entry = layout.processTableOffset + index * layout.processEntryBytes;
    const pid = readU32(bytes, entry + layout.slotPidOffset) | 0;
    if (pid === 0 || (pid === TT_SHM_SLOT_RELEASING && layout.version > 1)) continue;
    if (pid < 0 || pid > TT_SHM_MAX_PID) return implausible(`pid ${pid} in process slot ${index}`);
    const countersAt = entry + layout.slotCountersOffset;
    const usedBytes = readCounters(bytes, countersAt, layout.counterTypes);
    if (usedBytes === undefined) return badCounter(countersAt);
    const name = readName(bytes, entry + layout.slotNameOffset);
    if (name === undefined)
      return implausible(`process slot ${index}: name has no NUL in ${TT_SHM_PROCESS_NAME_BYTES} bytes`);
    slots.push({
      index,
      pid,
      name,
      usedBytes,
      lastUpdateNs: u64Rounded(bytes, entry + layout.slotLastUpdateOffset),
    });
  }

  return {
    ok: true,
    region: {
      version: layout.version,
      deviceId,
      asicId,
      lastUpdateNs: u64Rounded(bytes, layout.lastUpdateOffset),
      lastUpdateClock: layout.epochTimestamps ? "system" : "steady",
      totalsBytes,
      chips,
      slots,
    },
  };
}

function problem(code: TtShmProblemCode, message: string): TtShmDecodeResult {
  return { ok: false, problem: { code, message } };
}

function implausible(message: string): TtShmDecodeResult {
  return problem(TtShmProblemCode.IMPLAUSIBLE, message);
}

function badCounter(groupOffset: number): TtShmDecodeResult {
  return implausible(`a counter of the group at offset ${groupOffset} is >= 2^53`);
}

/** The counter group at `at` as a MemoryType-indexed array, or undefined when a counter is >= 2^53. */
function readCounters(bytes: Uint8Array, at: number, types: readonly MemoryType[]): number[] | undefined {
  const out = [0, 0, 0, 0, 0, 0, 0]; // MEMORY_TYPE_COUNT zeros, a packed literal
  for (let i = 0; i < types.length; i++) {
    const value = readU64(bytes, at + i * 8);
    if (value < 0) return undefined;
    out[types[i]!] = value;
  }
  return out;
}

function countersZero(bytes: Uint8Array, at: number, layout: TtShmLayout): boolean {
  const end = at + layout.counterTypes.length * 8;
  for (let i = at; i < end; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** A u64 as a number, rounded to the nearest double when >= 2^53 (timestamps only). */
function u64Rounded(bytes: Uint8Array, at: number): number {
  return readU32(bytes, at + 4) * TWO_POW_32 + readU32(bytes, at);
}

/** A u64 as an exact unsigned decimal string. */
function u64Decimal(bytes: Uint8Array, at: number): string {
  const high = readU32(bytes, at + 4);
  const low = readU32(bytes, at);
  if (high < U64_EXACT_HIGH_LIMIT) return String(high * TWO_POW_32 + low);
  return ((BigInt(high) << 32n) | BigInt(low)).toString();
}

/** v1: (board_serial << 8) | asic_id, or undefined when the parts cannot come from one u64 id. */
function splitAsicId(bytes: Uint8Array, layout: TtShmLayout): string | undefined {
  const lowByte = readU64(bytes, layout.asicIdOffset);
  if (lowByte < 0 || lowByte > 0xff) return undefined;
  const serialHigh = readU32(bytes, layout.boardSerialOffset + 4);
  const serialLow = readU32(bytes, layout.boardSerialOffset);
  if (serialHigh >= 0x1000000) return undefined; // id >> 8 has 56 bits at most
  if (serialHigh < 0x2000) return String((serialHigh * TWO_POW_32 + serialLow) * 256 + lowByte); // < 2^53
  return (((BigInt(serialHigh) << 32n) | BigInt(serialLow)) * 256n + BigInt(lowByte)).toString();
}

/** The NUL-terminated name at `at`, or undefined when the 64 bytes hold no NUL. Non-UTF-8 bytes read as Latin-1. */
function readName(bytes: Uint8Array, at: number): string | undefined {
  const limit = at + TT_SHM_PROCESS_NAME_BYTES;
  let end = at;
  let ascii = true;
  while (end < limit && bytes[end] !== 0) {
    if (bytes[end]! >= 0x80) ascii = false;
    end++;
  }
  if (end === limit) return undefined;
  if (!ascii) {
    const utf8 = decodeUtf8(bytes.subarray(at, end));
    if (utf8 !== undefined) return utf8;
  }
  let name = "";
  for (let i = at; i < end; i++) name += String.fromCharCode(bytes[i]!);
  return name;
}
