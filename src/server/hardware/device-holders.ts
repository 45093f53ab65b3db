import { readdirSync, readlinkSync } from "node:fs";
import { processExists } from "../process-liveness.js";
import { readBounded } from "./bounded-read.js";
import type { DeviceHolder } from "./hardware-device.js";

/**
 * Who holds a device node, two ways:
 * - tt-kmd >= 2.5.0 lists them: `/proc/driver/tenstorrent/<N>/pids`, one line per open fd holding the
 *   opener's pid as seen from the reader's pid namespace (a pid with two fds appears twice);
 * - otherwise as lsof does: every `/proc/<pid>/fd/*` link that points at the node. Processes of other users
 *   cannot be read (skipped silently), and threads with an fd table of their own are not walked.
 */

/** Bytes of a kmd `pids` file read per device (about 8,000 lines). */
export const MAX_PIDS_FILE_BYTES = 64 * 1024;
/** Bytes of `/proc/<pid>/comm` read (the kernel keeps 15 characters and a newline). */
const MAX_COMM_BYTES = 64;

export interface KmdPids {
  /** Positive pids in file order, duplicates kept. */
  readonly pids: number[];
  /** Lines that are not a pid (ignored). */
  readonly badLines: number;
}

/**
 * Parses a kmd `pids` file. A "0" line is skipped without complaint: the kernel prints 0 for an opener it
 * cannot name in the reader's pid namespace.
 */
export function parseKmdPids(text: string): KmdPids {
  const pids: number[] = [];
  let badLines = 0;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (!/^\d{1,10}$/.test(line)) {
      badLines++;
      continue;
    }
    const pid = Number(line);
    if (pid > 0x7fffffff) badLines++;
    else if (pid > 0) pids.push(pid);
  }
  return { pids, badLines };
}

/** Reads and parses a kmd `pids` file; throws what the read throws (ENOENT: no such file, older tt-kmd). */
export function readKmdPids(path: string): KmdPids {
  return parseKmdPids(readBounded(path, MAX_PIDS_FILE_BYTES));
}

export interface FdScan {
  /** Device ordinal → pids with at least one fd on its node. */
  readonly holders: Map<number, Set<number>>;
  /** fd links read. */
  readonly fdsChecked: number;
  /** Process directories listed in /proc. */
  readonly processesSeen: number;
  /** True when the scan stopped at `maxFds` (holders may be missing). */
  readonly truncated: boolean;
}

/** fd links read between two yields of `walkFdHolders` (the caller checks its time budget at each). */
export const FDS_PER_STEP = 64;

/**
 * Walks the real `/proc/<pid>/fd` of every visible process once and maps fd links found in `targets`
 * (resolved node path → ordinal). Reads at most `maxFds` links, then stops. Unreadable processes (other
 * users, exited meanwhile) are skipped. Throws only when /proc itself cannot be listed.
 * A generator: it yields after every FDS_PER_STEP links, so a caller can spread the walk over several
 * turns of the event loop; `runToEnd` runs it to the end at once.
 */
export function* walkFdHolders(
  targets: ReadonlyMap<string, number>,
  maxFds: number,
): Generator<void, FdScan> {
  const holders = new Map<number, Set<number>>();
  let fdsChecked = 0;
  let processesSeen = 0;
  let truncated = false;
  const entries = readdirSync("/proc");
  outer: for (const name of entries) {
    const first = name.charCodeAt(0);
    if (first < 48 || first > 57) continue; // not a pid directory
    processesSeen++;
    const fdDir = `/proc/${name}/fd`;
    let fds: string[];
    try {
      fds = readdirSync(fdDir);
    } catch {
      continue;
    }
    for (const fd of fds) {
      if (fdsChecked >= maxFds) {
        truncated = true;
        break outer;
      }
      if (++fdsChecked % FDS_PER_STEP === 0) yield;
      let link: string;
      try {
        link = readlinkSync(`${fdDir}/${fd}`);
      } catch {
        continue;
      }
      const ordinal = targets.get(link);
      if (ordinal === undefined) continue;
      let pids = holders.get(ordinal);
      if (pids === undefined) {
        pids = new Set();
        holders.set(ordinal, pids);
      }
      pids.add(Number(name));
    }
  }
  return { holders, fdsChecked, processesSeen, truncated };
}

/** Runs a stepwise computation to its end. */
export function runToEnd<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/**
 * Names each pid from `/proc/<pid>/comm`, deduplicated and sorted by pid. A pid that no longer exists is
 * dropped (it exited between the listing and now); one that exists but whose comm cannot be read (another
 * user's process under hidepid) is named "pid <n>".
 */
export function describeHolders(pids: Iterable<number>): DeviceHolder[] {
  const unique = [...new Set(pids)].sort((a, b) => a - b);
  const holders: DeviceHolder[] = [];
  for (const pid of unique) {
    const name = processName(pid);
    if (name !== undefined) holders.push({ pid, name });
    else if (processExists(pid)) holders.push({ pid, name: `pid ${pid}` });
  }
  return holders;
}

function processName(pid: number): string | undefined {
  let comm: string;
  try {
    comm = readBounded(`/proc/${pid}/comm`, MAX_COMM_BYTES);
  } catch {
    return undefined;
  }
  // A process chooses its own comm (prctl): control characters must not reach a terminal that shows it.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  const name = comm.replace(/\n$/, "").replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
  return name === "" ? undefined : name;
}
