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
 * read per scan; 64 KiB of each kmd `pids` file. Each distinct problem is logged once. The scan runs on the
 * caller's thread (synchronous file-system calls): the next periodic scan waits at least 49 times the last
 * one's duration, so scanning never takes more than 2% of one core whatever the host's process count.
 */
import type { Logger } from "pino";
import { InvalidOptionError } from "../errors.js";
import { systemTimers, type TimerScheduler } from "../timers.js";
import { DeviceScanner } from "./device-scan.js";
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

/** What the last scan cost. */
export interface HardwareScanCost {
  readonly durationMs: number;
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

  /** Scans now and returns the devices. Never throws: a failed scan is logged once and keeps the last result. */
  scanOnce(): readonly HardwareDevice[] {
    const startMs = this.timers.nowMs();
    try {
      const result = this.scanner.scan();
      this.current = Object.freeze(result.devices);
      this.cost = {
        durationMs: this.timers.nowMs() - startMs,
        fdsChecked: result.fdScan?.fdsChecked ?? 0,
        processesSeen: result.fdScan?.processesSeen ?? 0,
      };
    } catch (error) {
      this.problems.report("scan-failed", { err: error }, "hardware scan failed; keeping the last result");
      this.cost = { durationMs: this.timers.nowMs() - startMs, fdsChecked: 0, processesSeen: 0 };
    }
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
  }

  private tick(): void {
    this.timer = undefined;
    if (!this.running) return;
    this.scanOnce();
    const lastMs = this.cost?.durationMs ?? 0;
    const delayMs = Math.max(this.intervalMs, lastMs * (1 / MAX_CORE_SHARE - 1));
    this.timer = this.timers.set(() => this.tick(), delayMs);
  }
}

function positiveInteger(name: string, value: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new InvalidOptionError(`hardware ${name} must be an integer from 1 to ${max}; got ${value}`);
  }
  return value;
}
