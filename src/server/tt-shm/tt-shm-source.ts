/**
 * TtShmSource: what tt-metal processes write into their shared-memory regions
 * (`/dev/shm/tt_device_<asic id>_memory`, docs/PROTOCOL.md "tt-metal shared-memory regions"), read
 * read-only on a timer, with each process slot judged alive or dead. The server shows it beside what
 * allocwatch clients report.
 *
 *   const source = new TtShmSource({ logger });   // defaults: /dev/shm, every 100 ms, at most 256 files
 *   source.start();                               // scans now, then every intervalMs (unref'd timer)
 *   source.devices();                             // the latest view: readonly TtShmDevice[]
 *   source.stop();                                // clears the timer, closes every fd; final
 *
 * `scanOnce()` scans now and returns the new view (tests, or a caller that wants it fresh). Neither
 * `start`, the timer nor `scanOnce` ever throws: problems with files are logged (region-files.ts).
 */
import type { Logger } from "pino";
import type { TtShmRegion } from "../../protocol/tt-shm/decode.js";
import { InvalidOptionError } from "../errors.js";
import { systemTimers, type TimerScheduler } from "../timers.js";
import { RegionFiles } from "./region-files.js";
import { type ProcessLookup, procProcessLookup, SlotOwners } from "./slot-owners.js";

export type { TtShmChip } from "../../protocol/tt-shm/decode.js";
export type { TtShmVersion } from "../../protocol/tt-shm/layout.js";
export type { ProcessLookup } from "./slot-owners.js";

/** Where tt-metal creates its regions (POSIX shared memory on Linux). */
export const DEFAULT_TT_SHM_DIRECTORY = "/dev/shm";
/** Scan period, ms: 10 Hz, the rate tt-metal itself refreshed CB figures at. */
export const DEFAULT_TT_SHM_INTERVAL_MS = 100;
/** Region files read at most (one per chip on the host; 256 covers the largest systems 8 times over). */
export const DEFAULT_TT_SHM_MAX_FILES = 256;
/** Ceiling of `maxFiles`: each held file costs an fd. */
export const MAX_TT_SHM_FILES = 4096;

export interface TtShmSourceOptions {
  readonly logger: Logger;
  /** Directory of the region files; default DEFAULT_TT_SHM_DIRECTORY. It may be missing (warned, retried). */
  readonly directory?: string;
  /** Scan period, ms, >= 1; default DEFAULT_TT_SHM_INTERVAL_MS. */
  readonly intervalMs?: number;
  /** Most region files read, 1..MAX_TT_SHM_FILES; default DEFAULT_TT_SHM_MAX_FILES. More are ignored (one warning). */
  readonly maxFiles?: number;
  /** Timer for the periodic scan; default the real, unref'd one. */
  readonly timers?: TimerScheduler;
  /** How processes are looked up for the dead-slot rule; default /proc. */
  readonly processes?: ProcessLookup;
}

/** One process slot of a region. */
export interface TtShmProcess {
  readonly pid: number;
  /** The process name tt-metal stored (`/proc/<pid>/comm`). */
  readonly name: string;
  /** Bytes the slot holds, indexed by MemoryType. Still counted in the totals when `alive` is false. */
  readonly usedBytes: readonly number[];
  /**
   * False when the slot's owner is gone: its pid runs no process, or runs another process than the
   * one first seen owning the slot, or (v2+) one that started after the slot's last update.
   */
  readonly alive: boolean;
  /** The slot's last update, ns on the region's clock (`TtShmDevice.lastUpdateClock`); 0 = never. */
  readonly lastUpdateNs: number;
}

/**
 * One region file: one chip (and the remote chips reached through it). The region's fields as decoded
 * (protocol/tt-shm/decode.ts `TtShmRegion`), with its slots judged alive or dead.
 */
export interface TtShmDevice extends Omit<TtShmRegion, "slots"> {
  /** Full path of the region file. */
  readonly file: string;
  /** Used process slots, in table order. */
  readonly processes: readonly TtShmProcess[];
}

export class TtShmSource {
  private readonly files: RegionFiles;
  private readonly owners: SlotOwners;
  private readonly logger: Logger;
  private readonly timers: TimerScheduler;
  private readonly intervalMs: number;
  private view: readonly TtShmDevice[] = [];
  private timer: unknown;
  private stopped = false;
  private failureLogged = false;

  /** Validates the options (InvalidOptionError); starts nothing. */
  constructor(options: TtShmSourceOptions) {
    this.logger = options.logger;
    this.timers = options.timers ?? systemTimers;
    this.intervalMs = wholeNumber(
      options.intervalMs,
      DEFAULT_TT_SHM_INTERVAL_MS,
      1,
      3_600_000,
      "intervalMs",
      "ms",
    );
    const maxFiles = wholeNumber(
      options.maxFiles,
      DEFAULT_TT_SHM_MAX_FILES,
      1,
      MAX_TT_SHM_FILES,
      "maxFiles",
      "files",
    );
    const directory = options.directory ?? DEFAULT_TT_SHM_DIRECTORY;
    if (typeof directory !== "string" || directory === "")
      throw new InvalidOptionError(
        `directory must be a non-empty path (leave it out for ${DEFAULT_TT_SHM_DIRECTORY})`,
      );
    this.files = new RegionFiles({ directory, maxFiles, logger: this.logger });
    this.owners = new SlotOwners(options.processes ?? procProcessLookup());
  }

  /** Scans now, then every intervalMs until `stop()`. A second call does nothing. */
  start(): void {
    if (this.stopped || this.timer !== undefined) return;
    this.tick();
  }

  /** The latest view, sorted by device id then file; [] before the first scan. */
  devices(): readonly TtShmDevice[] {
    return this.view;
  }

  /** Scans now and returns the new view (the old one after `stop()`). */
  scanOnce(): readonly TtShmDevice[] {
    if (this.stopped) return this.view;
    try {
      this.view = this.buildView(this.files.scan());
    } catch (error) {
      // A defect, not a file problem: keep the last view and the timer; say it once.
      if (!this.failureLogged) {
        this.failureLogged = true;
        this.logger.error({ err: error }, "tt-metal memory region scan failed; keeping the last view");
      }
    }
    return this.view;
  }

  /** Stops the timer and closes every file; the view stays as last scanned. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.files.close();
  }

  private tick(): void {
    this.timer = undefined;
    this.scanOnce();
    if (!this.stopped) this.timer = this.timers.set(() => this.tick(), this.intervalMs);
  }

  private buildView(reads: ReturnType<RegionFiles["scan"]>): TtShmDevice[] {
    this.owners.beginScan();
    const devices: TtShmDevice[] = [];
    for (const { path, region } of reads) devices.push(this.device(path, region));
    this.owners.retainOnly((file) => this.files.isTracked(file));
    devices.sort((a, b) => a.deviceId - b.deviceId || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    return devices;
  }

  private device(file: string, region: TtShmRegion): TtShmDevice {
    const epoch = region.lastUpdateClock === "system";
    const processes: TtShmProcess[] = [];
    for (const slot of region.slots) {
      processes.push({
        pid: slot.pid,
        name: slot.name,
        usedBytes: slot.usedBytes,
        alive: this.owners.isAlive(file, slot, epoch),
        lastUpdateNs: slot.lastUpdateNs,
      });
    }
    return {
      file,
      version: region.version,
      deviceId: region.deviceId,
      asicId: region.asicId,
      lastUpdateNs: region.lastUpdateNs,
      lastUpdateClock: region.lastUpdateClock,
      totalsBytes: region.totalsBytes,
      chips: region.chips,
      processes,
    };
  }
}

function wholeNumber(
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
  name: string,
  unit: string,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new InvalidOptionError(
      `${name} must be a whole number of ${unit} in ${min}..${max} (leave it out for ${fallback}), got ${value}`,
    );
  return value;
}
