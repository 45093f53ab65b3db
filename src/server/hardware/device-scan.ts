import { type Dirent, readdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { cardTypeFacts } from "./card-type.js";
import { describeHolders, type FdScan, readKmdPids, runToEnd, walkFdHolders } from "./device-holders.js";
import type { HardwareDevice, HoldersSource } from "./hardware-device.js";
import { errorCode, type ScanProblems } from "./scan-problems.js";
import { type CardAttributes, readCardAttributes, sysfsDirectory } from "./sysfs-attributes.js";

export interface DeviceScanLimits {
  /** Device nodes reported, lowest ordinals first. */
  readonly maxDevices: number;
  /** fd links the fallback holder scan reads per scan. */
  readonly maxFdsPerScan: number;
}

export interface DeviceScanResult {
  readonly devices: readonly HardwareDevice[];
  /** The fd walk's figures, when one ran (some device had no kmd `pids` file). */
  readonly fdScan: Omit<FdScan, "holders"> | undefined;
}

/** A device ordinal as tt-kmd names nodes: decimal, no leading zeros (so "007" is not device 7). */
const ORDINAL = /^(0|[1-9]\d{0,8})$/;

/**
 * One pass over tt-kmd's files under `devRoot` ("/" on a real host; a temp dir in tests):
 * `dev/tenstorrent/<N>`, `sys/class/tenstorrent/tenstorrent!<N>/*` and `proc/driver/tenstorrent/<N>/pids`.
 * Holders come from the kmd `pids` file where it exists, else from one walk of the real `/proc/<pid>/fd`
 * matched against the resolved node paths. Sysfs attributes are static per node: they are read again only
 * when the node is new or replaced (another inode) or its card type was not yet known.
 */
export class DeviceScanner {
  private readonly attributes = new Map<number, { identity: string; attributes: CardAttributes }>();

  constructor(
    private readonly devRoot: string,
    private readonly limits: DeviceScanLimits,
    private readonly problems: ScanProblems,
  ) {}

  /** Scans once, to the end; throws only on a defect (every file-system failure is reported and survived). */
  scan(): DeviceScanResult {
    return runToEnd(this.scanInSteps());
  }

  /**
   * The same scan as a generator that yields inside the /proc fd walk (every FDS_PER_STEP links), so the
   * caller can stop between steps and give the event loop back. Device nodes, attributes and kmd pids
   * files are read in the first step (a few small files per device).
   */
  *scanInSteps(): Generator<void, DeviceScanResult> {
    const nodes = this.deviceNodes();
    const kmdPids = new Map<number, number[]>();
    const fdTargets = new Map<string, number>();
    for (const node of nodes) {
      const pids = this.kmdPids(node.ordinal);
      if (pids !== undefined) kmdPids.set(node.ordinal, pids);
      else if (node.resolvedPath !== undefined) fdTargets.set(node.resolvedPath, node.ordinal);
    }
    const fdScan = fdTargets.size > 0 ? yield* this.fdScan(fdTargets) : undefined;
    const devices = nodes.map((node): HardwareDevice => {
      const attributes = node.attributes;
      const facts = cardTypeFacts(attributes.cardType, attributes.pciDeviceId);
      const pids = kmdPids.get(node.ordinal);
      const holdersSource: HoldersSource = pids !== undefined ? "kmd" : "fd-scan";
      return {
        ordinal: node.ordinal,
        cardType: attributes.cardType,
        preset: facts.preset,
        architecture: facts.architecture,
        ...(attributes.serial === undefined ? {} : { serial: attributes.serial }),
        ...(attributes.asicId === undefined ? {} : { asicId: attributes.asicId }),
        holders: describeHolders(pids ?? fdScan?.holders.get(node.ordinal) ?? []),
        holdersSource,
      };
    });
    return {
      devices,
      fdScan:
        fdScan === undefined
          ? undefined
          : {
              fdsChecked: fdScan.fdsChecked,
              processesSeen: fdScan.processesSeen,
              truncated: fdScan.truncated,
            },
    };
  }

  private deviceNodes(): { ordinal: number; attributes: CardAttributes; resolvedPath: string | undefined }[] {
    const directory = join(this.devRoot, "dev", "tenstorrent");
    let entries: Dirent[];
    try {
      entries = readdirSync(directory, { withFileTypes: true });
    } catch (error) {
      const code = errorCode(error);
      // No directory: no tt-kmd or no cards, the common case on most hosts; nothing to say.
      if (code !== "ENOENT" && code !== "ENOTDIR") {
        this.problems.report(
          `dev-list:${code}`,
          { path: directory, code },
          "cannot list Tenstorrent devices",
        );
      }
      this.attributes.clear();
      return [];
    }
    const ordinals = entries
      .filter((entry) => !entry.isDirectory() && ORDINAL.test(entry.name))
      .map((entry) => Number(entry.name))
      .sort((a, b) => a - b);
    if (ordinals.length > this.limits.maxDevices) {
      this.problems.report(
        "too-many-devices",
        { found: ordinals.length, maxDevices: this.limits.maxDevices },
        "more Tenstorrent devices than the scanner reports; the lowest ordinals are shown",
      );
      ordinals.length = this.limits.maxDevices;
    }
    const nodes: { ordinal: number; attributes: CardAttributes; resolvedPath: string | undefined }[] = [];
    const kept = new Set<number>();
    for (const ordinal of ordinals) {
      const path = join(directory, String(ordinal));
      let identity: string;
      let resolvedPath: string | undefined;
      try {
        const stat = statSync(path);
        identity = `${stat.dev}:${stat.ino}:${stat.rdev}`;
        resolvedPath = realpathSync(path);
      } catch {
        continue; // removed since the listing
      }
      kept.add(ordinal);
      nodes.push({ ordinal, attributes: this.cardAttributes(ordinal, identity), resolvedPath });
    }
    for (const ordinal of this.attributes.keys()) if (!kept.has(ordinal)) this.attributes.delete(ordinal);
    return nodes;
  }

  private cardAttributes(ordinal: number, identity: string): CardAttributes {
    const cached = this.attributes.get(ordinal);
    if (cached !== undefined && cached.identity === identity && cached.attributes.cardType !== "unknown") {
      return cached.attributes;
    }
    const attributes = readCardAttributes(sysfsDirectory(this.devRoot, ordinal), ordinal, this.problems);
    this.attributes.set(ordinal, { identity, attributes });
    return attributes;
  }

  /** The kmd's pids for `ordinal`, or undefined where tt-kmd has no such file (then the fd walk decides). */
  private kmdPids(ordinal: number): number[] | undefined {
    const path = join(this.devRoot, "proc", "driver", "tenstorrent", String(ordinal), "pids");
    try {
      const { pids, badLines } = readKmdPids(path);
      if (badLines > 0) {
        this.problems.report(
          `pids-shape:${ordinal}`,
          { path, badLines },
          "lines that are not pids were ignored",
        );
      }
      return pids;
    } catch (error) {
      const code = errorCode(error);
      if (code !== "ENOENT" && code !== "ENOTDIR") {
        this.problems.report(
          `pids-read:${code}`,
          { path, code },
          "cannot read tt-kmd's pids file; finding holders through /proc/<pid>/fd instead",
        );
      }
      return undefined;
    }
  }

  private *fdScan(targets: ReadonlyMap<string, number>): Generator<void, FdScan | undefined> {
    try {
      const scan = yield* walkFdHolders(targets, this.limits.maxFdsPerScan);
      if (scan.truncated) {
        this.problems.report(
          "fd-scan-truncated",
          { maxFdsPerScan: this.limits.maxFdsPerScan },
          "the /proc/<pid>/fd walk stopped at its cap; device holders may be missing",
        );
      }
      return scan;
    } catch (error) {
      const code = errorCode(error);
      this.problems.report(`proc-list:${code}`, { code }, "cannot list /proc; device holders unknown");
      return undefined;
    }
  }
}
