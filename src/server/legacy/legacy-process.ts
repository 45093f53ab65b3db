import { MEMORY_TYPE_NAMES } from "../../protocol/memory-type.js";
import type { AnomalyLog } from "../anomaly-log.js";
import type { Session } from "../session.js";
import { NO_SLOT } from "../slot-index.js";
import type { TimerScheduler } from "../timers.js";
import { LegacyLiveKeys } from "./live-keys.js";

/** The three key spaces of the original server: buffers, circular buffers, kernels (separate maps). */
export const LegacyKeySpace = {
  BUFFER: 0,
  CB: 1,
  KERNEL: 2,
} as const;
export type LegacyKeySpace = (typeof LegacyKeySpace)[keyof typeof LegacyKeySpace];
const KEY_SPACE_NAMES = ["buffer", "CB", "kernel"] as const;

/** Adapter-wide counters of legacy traffic and connections (reported in logs and tests). */
export class LegacyStats {
  /** ALLOC/CB_ALLOC/KERNEL_LOAD that created a live allocation. */
  allocations = 0;
  /** Second (and later) ALLOCs on a live key: reference count raised, no bytes added. */
  sharedAllocations = 0;
  /** FREEs that dropped a reference without releasing (ref_count still > 0). */
  sharedFrees = 0;
  /** FREEs that released an allocation. */
  frees = 0;
  /** FREEs of keys that were not live (after the reorder window, if any). */
  unknownFrees = 0;
  /** FREEs held by the reorder window. */
  heldFrees = 0;
  /** ALLOCs the server's live-allocation limits refused (the key is not kept either). */
  refusedAllocations = 0;
  /** FREEs of keys that were not live, excused because the device was over a live-allocation limit. */
  excusedFrees = 0;
  /** Held FREEs matched by a late ALLOC (both dropped). */
  reorderedFrees = 0;
  /** Times a connection lost the frame grid and discarded bytes until a plausible boundary. */
  quarantines = 0;
  /** Connections closed because their unsent replies passed the close budget. */
  budgetClosures = 0;
  /** Connections closed at once because the connection cap was reached. */
  refusedConnections = 0;
}

interface HeldFree {
  count: number;
  timer: unknown;
  heldAtMs: number;
}

export interface LegacyProcessDeps {
  anomalies: AnomalyLog;
  timers: TimerScheduler;
  stats: LegacyStats;
  /** 0 = off. */
  reorderWindowMs: number;
  maxHeldFrees: number;
}

/**
 * The original server's semantics for one legacy process, on top of a session: identity is
 * (key space, device, buffer id) — the buffer id being the device address for buffers — and a second
 * ALLOC on a live key raises a reference count (tt-metal's cached kernel-binary views allocate twice
 * at one address and free once). Each live key becomes one allocation of the session, with an
 * allocation id of its own, so the registry's per-process totals and the monitors work as for native
 * sessions. Every oddity is an anomaly counted by kind instead of a log line.
 *
 * Scoped per process, not global as in the original: two processes using the same address on one
 * device (each has its own allocator) no longer collide.
 *
 * Optional reorder window (a heuristic, off by default): a FREE of a key that is not live is held for
 * `reorderWindowMs`; if an ALLOC of that key arrives meanwhile, the two cancel out (the seed's race:
 * the FREE of a reused address overtook the ALLOC that preceded it). What it cannot fix: an ALLOC later
 * than the window; which of two same-address ALLOCs the FREE belonged to (sizes may swap); and a FREE of
 * a buffer allocated before tracking started followed by a genuine new ALLOC at that address, which it
 * wrongly cancels (under-counting a live buffer). docs/PROTOCOL.md states this.
 */
export class LegacyProcess {
  private nextAllocationId = 1;
  private readonly live = new LegacyLiveKeys();
  private readonly held = new Map<string, HeldFree>();
  private heldTotal = 0;
  private released = false;

  constructor(
    readonly session: Session,
    private readonly deps: LegacyProcessDeps,
  ) {}

  /** Live keys of the process (all key spaces and devices). */
  get liveKeys(): number {
    return this.live.size;
  }

  /** FREEs currently held by the reorder window. */
  get heldFrees(): number {
    return this.heldTotal;
  }

  /** Reference count of a live key, 0 when not live. */
  refCount(space: LegacyKeySpace, deviceId: number, bufferId: number): number {
    const entry = this.live.entryOf(space, deviceId, bufferId);
    return entry === NO_SLOT ? 0 : this.live.refCountAt(entry);
  }

  allocate(
    space: LegacyKeySpace,
    deviceId: number,
    bufferId: number,
    memoryType: number,
    sizeBytes: number,
    /** When the frame arrived (the server's clock). */
    atMs: number = this.deps.timers.nowMs(),
  ): void {
    if (this.released) return;
    if (this.held.size > 0 && this.cancelHeldFree(space, deviceId, bufferId)) return;
    const live = this.live;
    const allocationId = this.nextAllocationId;
    const known = live.insertIfAbsent(space, deviceId, bufferId, allocationId, sizeBytes, memoryType);
    if (known === NO_SLOT) {
      this.nextAllocationId++;
      if (this.session.allocateUnsequenced(deviceId, memoryType, allocationId, bufferId, sizeBytes, atMs)) {
        this.deps.stats.allocations++;
        return;
      }
      // Not recorded (a live-allocation limit, or a total past 2^53): the key goes too, so that this
      // table never holds more keys than the registry holds allocations of the process.
      live.delete(space, deviceId, bufferId, live.entryOf(space, deviceId, bufferId));
      if (this.session.isOverLimit(deviceId)) this.deps.stats.refusedAllocations++;
      return;
    }
    const refCount = live.addReference(known);
    this.deps.stats.sharedAllocations++;
    const knownSize = live.sizeBytesAt(known);
    const knownType = live.memoryTypeAt(known);
    if (knownSize !== sizeBytes || knownType !== memoryType) {
      this.deps.anomalies.record(
        "DUPLICATE_ALLOCATION",
        this.session.account,
        deviceId,
        `${KEY_SPACE_NAMES[space]} 0x${bufferId.toString(16)} allocated again as ${MEMORY_TYPE_NAMES[memoryType]} ` +
          `${sizeBytes} bytes while live as ${MEMORY_TYPE_NAMES[knownType]} ${knownSize} bytes ` +
          `(ref_count now ${refCount}; the first size is kept)`,
      );
    }
  }

  /** `sizeBytes` < 0 when the frame carries none (FREE sends 0; CB_FREE and KERNEL_UNLOAD send theirs). */
  free(space: LegacyKeySpace, deviceId: number, bufferId: number, sizeBytes: number): void {
    if (this.released) return;
    const live = this.live;
    const known = live.release(space, deviceId, bufferId);
    if (known === NO_SLOT) {
      if (this.deps.reorderWindowMs > 0 && this.heldTotal < this.deps.maxHeldFrees) {
        this.holdFree(space, deviceId, bufferId);
      } else {
        this.unknownFree(space, deviceId, bufferId, "");
      }
      return;
    }
    if (live.refCountAt(known) > 0) {
      this.deps.stats.sharedFrees++;
      return;
    }
    // The key is forgotten; its entry's fields are read before anything is inserted again.
    this.deps.stats.frees++;
    this.session.freeUnsequenced(deviceId, live.memoryTypeAt(known), live.allocationIdAt(known), sizeBytes);
  }

  /** The session is gone: held FREEs never found their ALLOC. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const [key, held] of this.held) {
      this.deps.timers.clear(held.timer);
      const [space, deviceId, bufferId] = key.split(":").map(Number) as [LegacyKeySpace, number, number];
      for (let i = 0; i < held.count; i++) this.unknownFree(space, deviceId, bufferId, " (process released)");
    }
    this.held.clear();
    this.heldTotal = 0;
    this.live.clear();
  }

  private holdFree(space: LegacyKeySpace, deviceId: number, bufferId: number): void {
    const key = `${space}:${deviceId}:${bufferId}`;
    const held = this.held.get(key);
    this.heldTotal++;
    this.deps.stats.heldFrees++;
    if (held !== undefined) {
      held.count++;
      return;
    }
    const entry: HeldFree = { count: 1, timer: undefined, heldAtMs: this.deps.timers.nowMs() };
    entry.timer = this.deps.timers.set(() => {
      if (this.held.get(key) !== entry) return;
      this.held.delete(key);
      this.heldTotal -= entry.count;
      for (let i = 0; i < entry.count; i++) {
        this.unknownFree(
          space,
          deviceId,
          bufferId,
          ` (no ALLOC within the ${this.deps.reorderWindowMs} ms reorder window)`,
        );
      }
    }, this.deps.reorderWindowMs);
    this.held.set(key, entry);
  }

  private cancelHeldFree(space: LegacyKeySpace, deviceId: number, bufferId: number): boolean {
    const key = `${space}:${deviceId}:${bufferId}`;
    const held = this.held.get(key);
    if (held === undefined) return false;
    this.heldTotal--;
    if (--held.count === 0) {
      this.deps.timers.clear(held.timer);
      this.held.delete(key);
    }
    this.deps.stats.reorderedFrees++;
    const lateMs = Math.round(this.deps.timers.nowMs() - held.heldAtMs);
    this.deps.anomalies.record(
      "REORDERED_FREE",
      this.session.account,
      deviceId,
      `FREE of ${KEY_SPACE_NAMES[space]} 0x${bufferId.toString(16)} arrived ${lateMs} ms before an ALLOC of it; ` +
        "the pair cancelled out (reorder window)",
    );
    return true;
  }

  private unknownFree(space: LegacyKeySpace, deviceId: number, bufferId: number, why: string): void {
    if (this.session.excuseUnknownFree(deviceId)) {
      // The legacy protocol has no snapshots: the device stays marked until the process's session ends.
      this.deps.stats.excusedFrees++;
      return;
    }
    this.deps.stats.unknownFrees++;
    this.deps.anomalies.record(
      "UNKNOWN_FREE",
      this.session.account,
      deviceId,
      `FREE of unknown ${KEY_SPACE_NAMES[space]} 0x${bufferId.toString(16)} (never allocated while tracked)${why}`,
    );
  }
}
