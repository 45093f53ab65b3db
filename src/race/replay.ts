import { type AllocationChange, ChangeOp } from "../device/change.js";
import type { MemoryType } from "../device/memory-type.js";
import { REPLAY_ANOMALY_KINDS, ReplayAnomalyKind } from "./replay-anomaly-kind.js";

/**
 * Replays a stream of allocation reports the way a tracking server would, and reports every way the
 * replayed state disagrees with what an allocator could possibly have done (ReplayAnomalyKind). Whether
 * the live set it ends with is the allocator's is live-set-comparison.ts's question.
 *
 * Two replay modes, so the same stream can be judged both ways:
 * - "ordered": allocwatch's server. Each (process, device) stream is sorted by `seq`; identity is the
 *   allocation id. A missing or repeated number is an anomaly of its own.
 * - "naive": the original allocation server. Events are applied in arrival order; identity is
 *   (device, address); a repeated ALLOC at a live address raises a reference count instead of
 *   replacing it (the original's "cached program buffers" rule), so a lost FREE leaves a phantom leak.
 */
export type ReplayMode = "ordered" | "naive";

/**
 * One report as the replay sees it: an AllocationChange (its timestamp not needed) plus the reporting
 * process. In naive mode `seq` and `allocationId` are ignored and (device, address) is the identity; a FREE
 * of 0 bytes means "size not reported" (as the original's FREE) and its size is not compared.
 */
export type ReplayEvent = Omit<AllocationChange, "timestampNs"> & {
  /** Reporting process; streams are per (process, device). Defaults to 0. */
  processId?: number;
  /**
   * Extent of the allocation in each bank it occupies, bytes: the range checked for overlaps is
   * [address, address + sizePerBankBytes). Defaults to sizeBytes (one bank).
   */
  sizePerBankBytes?: number;
};

export interface Anomaly {
  kind: ReplayAnomalyKind;
  processId: number;
  deviceId: number;
  /** The event that revealed it (for a gap: the first event after the gap). */
  event: ReplayEvent;
  /** Human-readable detail, e.g. the missing range or the two sizes. */
  detail: string;
}

/** One allocation the replay believes live. */
export interface ReplayedAllocation {
  /** In naive mode: the id carried by the ALLOC that created the entry (informational). */
  allocationId: number;
  memoryType: MemoryType;
  address: number;
  sizeBytes: number;
  /** Naive mode: how many ALLOCs are outstanding at this (device, address). Always 1 in ordered mode. */
  refCount: number;
}

export interface ReplayReport {
  mode: ReplayMode;
  /** Events replayed. */
  events: number;
  /** Total anomalies of every kind. */
  anomalies: number;
  byKind: Record<ReplayAnomalyKind, number>;
  /** The first `maxSamples` anomalies, in the order found. */
  samples: Anomaly[];
  /** Live set per stream, keyed by streamKey(processId, deviceId). */
  live: Map<string, ReplayedAllocation[]>;
}

export interface ReplayOptions {
  mode: ReplayMode;
  /** First sequence number of every stream (ordered mode). Default 1, as the protocol states. */
  firstSeq?: number;
  /** How many anomalies to keep with details. Default 20. */
  maxSamples?: number;
  /**
   * Which address range a memory type allocates from, for the overlap check: types that share one
   * allocator region (L1 and CB in tt-metal) must map to the same number, e.g.
   * `(t) => device.layout.regionOfType[t]`. Default: each memory type its own range.
   */
  addressSpaceOf?: (memoryType: MemoryType) => number;
}

export function streamKey(processId: number, deviceId: number): string {
  return `${processId}:${deviceId}`;
}

/** Replay `events` in the given mode and collect every anomaly. */
export function replayEvents(events: Iterable<ReplayEvent>, options: ReplayOptions): ReplayReport {
  const maxSamples = options.maxSamples ?? 20;
  const report: ReplayReport = {
    mode: options.mode,
    events: 0,
    anomalies: 0,
    byKind: emptyCounts(),
    samples: [],
    live: new Map(),
  };
  const note = (kind: ReplayAnomalyKind, event: ReplayEvent, detail: string): void => {
    report.anomalies++;
    report.byKind[kind]++;
    if (report.samples.length < maxSamples) {
      report.samples.push({
        kind,
        processId: event.processId ?? 0,
        deviceId: event.deviceId,
        event,
        detail,
      });
    }
  };

  const streams = new Map<string, ReplayEvent[]>();
  for (const event of events) {
    report.events++;
    const key = streamKey(event.processId ?? 0, event.deviceId);
    let stream = streams.get(key);
    if (stream === undefined) {
      stream = [];
      streams.set(key, stream);
    }
    stream.push(event);
  }

  const addressSpaceOf = options.addressSpaceOf ?? ((memoryType: MemoryType) => memoryType);
  for (const [key, stream] of streams) {
    const state = new StreamState(addressSpaceOf);
    if (options.mode === "ordered") {
      // A stable sort keeps duplicates of one seq in arrival order, so the second is the one flagged.
      stream.sort((a, b) => a.seq - b.seq);
      let expected = options.firstSeq ?? 1;
      for (const event of stream) {
        if (event.seq < expected) {
          note(ReplayAnomalyKind.DUPLICATE_SEQ, event, `seq ${event.seq} reported again`);
          continue;
        }
        if (event.seq > expected) {
          const missing = event.seq - expected;
          note(
            ReplayAnomalyKind.SEQUENCE_GAP,
            event,
            missing === 1 ? `seq ${expected} missing` : `seq ${expected}..${event.seq - 1} missing`,
          );
        }
        expected = event.seq + 1;
        applyOrdered(state, event, note);
      }
    } else {
      for (const event of stream) applyNaive(state, event, note);
    }
    report.live.set(key, state.liveAllocations());
  }
  return report;
}

type Note = (kind: ReplayAnomalyKind, event: ReplayEvent, detail: string) => void;

interface LiveEntry extends ReplayedAllocation {
  extentBytes: number;
}

/** Live entries of one stream, by identity, plus a per-memory-type address index for overlap checks. */
class StreamState {
  readonly byIdentity = new Map<number | string, LiveEntry>();
  /** Per address space, live entries sorted by address (duplicates of an address allowed). */
  private readonly byAddress = new Map<number, LiveEntry[]>();
  /** Per address space, the largest extent ever inserted: bounds how far left an overlap can start. */
  private readonly maxExtent = new Map<number, number>();

  constructor(private readonly addressSpaceOf: (memoryType: MemoryType) => number) {}

  /** Live entries of the same address space whose range intersects `entry`'s, other than itself. */
  overlapping(entry: LiveEntry): LiveEntry[] {
    const space = this.addressSpaceOf(entry.memoryType);
    const sorted = this.byAddress.get(space);
    if (sorted === undefined) return [];
    const end = entry.address + entry.extentBytes;
    const reach = this.maxExtent.get(space) ?? 0;
    const found: LiveEntry[] = [];
    // Entries starting in [address - reach, end) are the only candidates.
    for (let i = lowerBound(sorted, entry.address - reach); i < sorted.length; i++) {
      const other = sorted[i]!;
      if (other.address >= end) break;
      if (other !== entry && other.address + other.extentBytes > entry.address) found.push(other);
    }
    return found;
  }

  insert(identity: number | string, entry: LiveEntry): void {
    this.byIdentity.set(identity, entry);
    const space = this.addressSpaceOf(entry.memoryType);
    let sorted = this.byAddress.get(space);
    if (sorted === undefined) {
      sorted = [];
      this.byAddress.set(space, sorted);
    }
    sorted.splice(lowerBound(sorted, entry.address), 0, entry);
    if (entry.extentBytes > (this.maxExtent.get(space) ?? 0)) {
      this.maxExtent.set(space, entry.extentBytes);
    }
  }

  remove(identity: number | string, entry: LiveEntry): void {
    this.byIdentity.delete(identity);
    const sorted = this.byAddress.get(this.addressSpaceOf(entry.memoryType))!;
    for (let i = lowerBound(sorted, entry.address); i < sorted.length; i++) {
      if (sorted[i] === entry) {
        sorted.splice(i, 1);
        return;
      }
    }
  }

  liveAllocations(): ReplayedAllocation[] {
    const out: ReplayedAllocation[] = [];
    for (const e of this.byIdentity.values()) {
      out.push({
        allocationId: e.allocationId,
        memoryType: e.memoryType,
        address: e.address,
        sizeBytes: e.sizeBytes,
        refCount: e.refCount,
      });
    }
    return out;
  }
}

function lowerBound(sorted: readonly LiveEntry[], address: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.address < address) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function entryOf(event: ReplayEvent): LiveEntry {
  return {
    allocationId: event.allocationId,
    memoryType: event.memoryType,
    address: event.address,
    sizeBytes: event.sizeBytes,
    refCount: 1,
    extentBytes: event.sizePerBankBytes ?? event.sizeBytes,
  };
}

function checkOverlap(state: StreamState, entry: LiveEntry, event: ReplayEvent, note: Note): void {
  const others = state.overlapping(entry);
  if (others.length > 0) {
    const first = others[0]!;
    note(
      ReplayAnomalyKind.ADDRESS_OVERLAP,
      event,
      `[${hex(entry.address)}, ${hex(entry.address + entry.extentBytes)}) overlaps ${others.length} live ` +
        `allocation(s), first [${hex(first.address)}, ${hex(first.address + first.extentBytes)})`,
    );
  }
}

function checkFreeSize(live: LiveEntry, event: ReplayEvent, note: Note): void {
  if (event.sizeBytes !== 0 && event.sizeBytes !== live.sizeBytes) {
    note(
      ReplayAnomalyKind.FREE_MISMATCH,
      event,
      `size mismatch: FREE of ${event.sizeBytes} bytes for an allocation of ${live.sizeBytes} bytes`,
    );
  }
}

function applyOrdered(state: StreamState, event: ReplayEvent, note: Note): void {
  const id = event.allocationId;
  const live = state.byIdentity.get(id);
  if (event.op === ChangeOp.ALLOC) {
    if (live !== undefined) {
      note(ReplayAnomalyKind.DUPLICATE_ALLOCATION, event, `allocation ${id} is already live`);
      return;
    }
    const entry = entryOf(event);
    checkOverlap(state, entry, event, note);
    state.insert(id, entry);
    return;
  }
  if (live === undefined) {
    note(ReplayAnomalyKind.UNKNOWN_FREE, event, `allocation ${id} is not live`);
    return;
  }
  checkFreeSize(live, event, note);
  if (event.address !== live.address) {
    note(
      ReplayAnomalyKind.FREE_MISMATCH,
      event,
      `address mismatch: FREE at ${hex(event.address)} for an allocation at ${hex(live.address)}`,
    );
  }
  state.remove(id, live);
}

function applyNaive(state: StreamState, event: ReplayEvent, note: Note): void {
  // The original keyed its records by (device_id, address) only: the stream already fixes the device.
  const key = event.address;
  const live = state.byIdentity.get(key);
  if (event.op === ChangeOp.ALLOC) {
    if (live !== undefined) {
      live.refCount++;
      note(
        ReplayAnomalyKind.DUPLICATE_ALLOCATION,
        event,
        `address ${hex(key)} is already live (ref count now ${live.refCount})`,
      );
      return;
    }
    const entry = entryOf(event);
    checkOverlap(state, entry, event, note);
    state.insert(key, entry);
    return;
  }
  if (live === undefined) {
    note(ReplayAnomalyKind.UNKNOWN_FREE, event, `no live allocation at ${hex(key)}`);
    return;
  }
  checkFreeSize(live, event, note);
  live.refCount--;
  if (live.refCount === 0) state.remove(key, live);
}

/** Convert a tracked change into a replay event of the given process. */
export function replayEventOf(
  change: AllocationChange,
  processId = 0,
  sizePerBankBytes?: number,
): ReplayEvent {
  return {
    op: change.op,
    processId,
    deviceId: change.deviceId,
    memoryType: change.memoryType,
    seq: change.seq,
    allocationId: change.allocationId,
    address: change.address,
    sizeBytes: change.sizeBytes,
    ...(sizePerBankBytes === undefined ? {} : { sizePerBankBytes }),
  };
}

function emptyCounts(): Record<ReplayAnomalyKind, number> {
  const counts = {} as Record<ReplayAnomalyKind, number>;
  for (const kind of REPLAY_ANOMALY_KINDS) counts[kind] = 0;
  return counts;
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
