/**
 * The Tenstorrent cards on this host and the processes that hold each one open, read from tt-kmd's files
 * (no client needs to report): a process that holds a device without reporting is still seen.
 *
 *   const hardware = new HardwareDevices({ log });   // devRoot "/", a scan every 1000 ms once started
 *   hardware.start();        // scans at once, then on an unref'd timer
 *   hardware.devices();      // the last scan: readonly HardwareDevice[] in ordinal order ([] before any)
 *   hardware.scanOnce();     // scans now and returns the result (never throws)
 *   hardware.stop();
 *
 * What it reads (all read-only; docs/SECURITY.md "Hardware discovery"): `<devRoot>/dev/tenstorrent/<N>`,
 * `<devRoot>/sys/class/tenstorrent/tenstorrent!<N>/{tt_card_type,tt_serial,tt_asic_id,device/device}`,
 * `<devRoot>/proc/driver/tenstorrent/<N>/pids` (tt-kmd >= 2.5.0) and, for devices without that file, the
 * real `/proc/<pid>/fd/*` links and `/proc/<pid>/comm` of holders.
 *
 * Bounds: at most `maxDevices` (64) devices, the lowest ordinals; at most `maxFdsPerScan` (65,536) fd links
 * read per scan; 64 KiB of each kmd `pids` file. Each distinct problem is logged once.
 *
 * Cost (docs/PERFORMANCE.md "Hardware discovery"): with kmd pids files a scan is a few small reads; the
 * fd walk costs about 5 µs per fd link on the reference machine. The scan uses synchronous file-system
 * calls on the caller's thread, so the periodic scan runs in slices of at most HARDWARE_SCAN_SLICE_MS
 * (the event loop runs between them), and the next scan waits at least 49 times the last one's time:
 * scanning never takes more than 2% of one core, whatever the host's number of open files.
 */
import type { Logger } from "pino";
import { InvalidOptionError } from "../errors.js";
import { systemTimers, type TimerScheduler } from "../timers.js";
import { DeviceScanner, type DeviceScanResult } from "./device-scan.js";
import type { HardwareDevice } from "./hardware-device.js";
import { ScanProblems } from "./scan-problems.js";

export type { CardArchitecture, DeviceHolder, HardwareDevice, HoldersSource } from "./hardware-device.js";

export interface HardwareDevicesOptions {
  /** Where each problem is logged (once). */
  readonly log: Pick<Logger, "warn">;
  /** Root under which dev/, sys/ and proc/driver/ are read. Default "/". The fd walk always reads /proc. */
  readonly devRoot?: string;
  /** Period of the scan once started, ms. Default 1000. */
  readonly scanIntervalMs?: number;
  /** Devices reported, at most. Default 64. */
  readonly maxDevices?: number;
  /** fd links the /proc/<pid>/fd walk reads per scan, at most. Default 65,536. */
  readonly maxFdsPerScan?: number;
  /** Clock and timers (tests pass ManualTimers). Default: the real, unref'd ones. */
  readonly timers?: TimerScheduler;
}

export const DEFAULT_HARDWARE_SCAN_INTERVAL_MS = 1000;
export const DEFAULT_MAX_HARDWARE_DEVICES = 64;
export const DEFAULT_MAX_FDS_PER_SCAN = 65_536;
/** The share of one core scanning may take: the next scan waits (1 / share − 1) × the last duration. */
const MAX_CORE_SHARE = 0.02;
/** Longest the periodic scan holds the event loop at a time, ms; it goes on at the next turn. */
export const HARDWARE_SCAN_SLICE_MS = 4;

/** What the last scan cost. */
export interface HardwareScanCost {
  /** Time spent scanning, ms (the sum of its slices for a periodic scan). */
  readonly durationMs: number;
  /** Event-loop turns the scan took (1 for `scanOnce`). */
  readonly slices: number;
  /** fd links read by the /proc walk (0 when every device had a kmd pids file). */
  readonly fdsChecked: number;
  /** /proc process directories listed by the walk (0 when it did not run). */
  readonly processesSeen: number;
}

export class HardwareDevices {
  private readonly scanner: DeviceScanner;
  private readonly problems: ScanProblems;
  private readonly timers: TimerScheduler;
  private readonly intervalMs: number;
  private current: readonly HardwareDevice[] = [];
  private cost: HardwareScanCost | undefined;
  private timer: unknown;
  private running = false;
  /** The periodic scan in progress, between two slices. */
  private job: { steps: Generator<void, DeviceScanResult>; spentMs: number; slices: number } | undefined;

  constructor(options: HardwareDevicesOptions) {
    this.intervalMs = positiveInteger(
      "scanIntervalMs",
      options.scanIntervalMs ?? DEFAULT_HARDWARE_SCAN_INTERVAL_MS,
      3_600_000,
    );
    const maxDevices = positiveInteger(
      "maxDevices",
      options.maxDevices ?? DEFAULT_MAX_HARDWARE_DEVICES,
      4096,
    );
    const maxFdsPerScan = positiveInteger(
      "maxFdsPerScan",
      options.maxFdsPerScan ?? DEFAULT_MAX_FDS_PER_SCAN,
      16_777_216,
    );
    this.problems = new ScanProblems(options.log);
    this.timers = options.timers ?? systemTimers;
    this.scanner = new DeviceScanner(options.devRoot ?? "/", { maxDevices, maxFdsPerScan }, this.problems);
  }

  /** The devices of the last scan, in ordinal order ([] before the first). */
  devices(): readonly HardwareDevice[] {
    return this.current;
  }

  /** What the last scan cost (undefined before the first). */
  lastScanCost(): HardwareScanCost | undefined {
    return this.cost;
  }

  /**
   * Scans now, to the end, and returns the devices. Never throws: a failed scan is logged once and keeps
   * the last result.
   */
  scanOnce(): readonly HardwareDevice[] {
    const startMs = this.timers.nowMs();
    let result: DeviceScanResult | undefined;
    try {
      result = this.scanner.scan();
    } catch (error) {
      this.reportFailure(error);
    }
    this.finish(result, this.timers.nowMs() - startMs, 1);
    return this.current;
  }

  /** Scans at once, then every `scanIntervalMs` (longer after a slow scan). Calling it again does nothing. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.timers.clear(this.timer);
    this.timer = undefined;
    this.job = undefined; // a walk holds no open files between steps: dropping it is enough
  }

  /** One slice of the periodic scan: goes on until done or HARDWARE_SCAN_SLICE_MS have passed. */
  private tick(): void {
    this.timer = undefined;
    if (!this.running) return;
    this.job ??= { steps: this.scanner.scanInSteps(), spentMs: 0, slices: 0 };
    const job = this.job;
    const sliceStartMs = this.timers.nowMs();
    let result: DeviceScanResult | undefined;
    let failed = false;
    try {
      for (;;) {
        const step = job.steps.next();
        if (step.done === true) {
          result = step.value;
          break;
        }
        if (this.timers.nowMs() - sliceStartMs >= HARDWARE_SCAN_SLICE_MS) break;
      }
    } catch (error) {
      failed = true;
      this.reportFailure(error);
    }
    job.spentMs += this.timers.nowMs() - sliceStartMs;
    job.slices++;
    if (result === undefined && !failed) {
      this.timer = this.timers.set(() => this.tick(), 0);
      return;
    }
    this.job = undefined;
    this.finish(result, job.spentMs, job.slices);
    const delayMs = Math.max(this.intervalMs, job.spentMs * (1 / MAX_CORE_SHARE - 1));
    this.timer = this.timers.set(() => this.tick(), delayMs);
  }

  private finish(result: DeviceScanResult | undefined, durationMs: number, slices: number): void {
    if (result !== undefined) this.current = Object.freeze(result.devices);
    this.cost = {
      durationMs,
      slices,
      fdsChecked: result?.fdScan?.fdsChecked ?? 0,
      processesSeen: result?.fdScan?.processesSeen ?? 0,
    };
  }

  private reportFailure(error: unknown): void {
    this.problems.report("scan-failed", { err: error }, "hardware scan failed; keeping the last result");
  }
}

function positiveInteger(name: string, value: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new InvalidOptionError(`hardware ${name} must be an integer from 1 to ${max}; got ${value}`);
  }
  return value;
}
