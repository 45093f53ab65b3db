/**
 * Whether the process that owns a tt-metal process slot is still running. tt-metal leaves a dead
 * process's slot (and its bytes in the totals) in place until another tt-metal process reaps it, and
 * reaps by `kill(pid, 0)`, which a reused pid fools. So a slot is dead when any of these holds:
 * 1. its pid names no running process (or a zombie);
 * 2. the pid runs, but with another start time than when this reader first saw it owning the slot
 *    (the pid was reused while we watched);
 * 3. (regions with system-clock timestamps, v2+) the pid's process started after the slot was last
 *    written, so it cannot have written it (the pid was reused before we watched).
 * docs/PROTOCOL.md ("tt-metal shared-memory regions", T5) states the rule.
 */
import { readFileSync } from "node:fs";
import { TT_SHM_MAX_PROCESSES } from "../../protocol/tt-shm/layout.js";
import { PROCESS_GONE, processStartTicks } from "../process-liveness.js";

/** What the reader asks the system about processes; injected so tests can stage a pid reuse. */
export interface ProcessLookup {
  /** As `processStartTicks`: PROCESS_GONE (-1), 0 = running with an unknown start, else start ticks since boot. */
  startTicks(pid: number): number;
  /** When a process with these start ticks started, ns since the Unix epoch; undefined when unknown. */
  startedAtEpochNs(startTicks: number): number | undefined;
}

/**
 * Rule 3 leaves this much slack, ns: boot time is known to the second (/proc/stat `btime`), start
 * times to the clock tick, and the wall clock may be slewed between a write and the check.
 */
export const START_AFTER_UPDATE_SLACK_NS = 2e9;

/** USER_HZ: /proc start times count these per second on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_S = 100;
/** How long a read of the boot time is reused, ms (it moves only when the wall clock is stepped). */
const BOOT_TIME_TTL_MS = 10_000;

/** /proc: start ticks from /proc/<pid>/stat, boot time from /proc/stat. */
export function procProcessLookup(): ProcessLookup {
  let bootEpochNs: number | undefined;
  let bootReadAtMs = Number.NEGATIVE_INFINITY;
  return {
    startTicks: processStartTicks,
    startedAtEpochNs(startTicks) {
      const now = performance.now();
      if (now - bootReadAtMs > BOOT_TIME_TTL_MS) {
        bootReadAtMs = now;
        bootEpochNs = readBootEpochNs();
      }
      return bootEpochNs === undefined ? undefined : bootEpochNs + (startTicks / CLOCK_TICKS_PER_S) * 1e9;
    },
  };
}

function readBootEpochNs(): number | undefined {
  try {
    const match = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "latin1"));
    return match === null ? undefined : Number(match[1]) * 1e9;
  } catch {
    return undefined;
  }
}

/** The slot owners of one region file: pid and start ticks when first seen alive, per slot. */
interface FileOwners {
  readonly pids: Int32Array;
  /** Start ticks recorded with `pids` (0 = running but its start time was unknown). */
  readonly startTicks: Float64Array;
}

/** A slot as the rule needs it (a decoded TtShmSlot fits). */
export interface SlotFacts {
  readonly index: number;
  readonly pid: number;
  readonly lastUpdateNs: number;
}

/**
 * The rule's memory, bounded: one 64-entry record per region file the caller keeps (`retainOnly`
 * drops the others), and a per-scan cache of process lookups (at most one /proc read per pid per scan).
 */
export class SlotOwners {
  private readonly files = new Map<string, FileOwners>();
  private readonly scanLookups = new Map<number, number>();

  constructor(private readonly processes: ProcessLookup) {}

  /** Starts a scan: lookups from the previous one are stale. */
  beginScan(): void {
    this.scanLookups.clear();
  }

  /** Whether `slot` of the region in `file` has a live owner; `epochTimestamps`: rule 3 applies. */
  isAlive(file: string, slot: SlotFacts, epochTimestamps: boolean): boolean {
    const ticks = this.lookup(slot.pid);
    if (ticks === PROCESS_GONE) return false;
    const owners = this.ownersOf(file);
    const i = slot.index;
    if (owners.pids[i] !== slot.pid || owners.startTicks[i] === 0) {
      owners.pids[i] = slot.pid;
      owners.startTicks[i] = ticks;
    } else if (ticks !== 0 && owners.startTicks[i] !== ticks) {
      return false;
    }
    if (epochTimestamps && slot.lastUpdateNs > 0 && ticks > 0) {
      const startedAt = this.processes.startedAtEpochNs(ticks);
      if (startedAt !== undefined && startedAt > slot.lastUpdateNs + START_AFTER_UPDATE_SLACK_NS)
        return false;
    }
    return true;
  }

  /** Forgets the records of every file `keep` rejects (files no longer read). */
  retainOnly(keep: (file: string) => boolean): void {
    for (const file of this.files.keys()) if (!keep(file)) this.files.delete(file);
  }

  /** Files with records (for tests of the bound). */
  get fileCount(): number {
    return this.files.size;
  }

  private lookup(pid: number): number {
    let ticks = this.scanLookups.get(pid);
    if (ticks === undefined) {
      ticks = this.processes.startTicks(pid);
      this.scanLookups.set(pid, ticks);
    }
    return ticks;
  }

  private ownersOf(file: string): FileOwners {
    let owners = this.files.get(file);
    if (owners === undefined) {
      owners = {
        pids: new Int32Array(TT_SHM_MAX_PROCESSES),
        startTicks: new Float64Array(TT_SHM_MAX_PROCESSES),
      };
      this.files.set(file, owners);
    }
    return owners;
  }
}
