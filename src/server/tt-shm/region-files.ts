/**
 * The tt-metal region files of one directory, read-only: lists the directory on every scan, keeps one
 * read-only fd per `tt_device_<digits>_memory` file between scans, reads each with one pread into a
 * reused buffer, and decodes it. Never writes, truncates or unlinks anything; never throws out of
 * `scan()`. Each problem is logged once per file and problem code (again only after the file was
 * readable in between, which is logged once at info).
 *
 * Cost per scan: one readdir, then per file one stat of its path (a file replaced under the same name,
 * e.g. by a writer that recreated it, has another inode than our fd: it is reopened) and one pread.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { decodeTtShmRegion, type TtShmRegion } from "../../protocol/tt-shm/decode.js";
import { TT_SHM_FILE_NAME } from "../../protocol/tt-shm/layout.js";
import { TtShmProblemCode } from "../../protocol/tt-shm/problems.js";

/** Bytes read per file and scan: the largest layout (9,280 bytes) fits; anything past it is never read. */
export const TT_SHM_READ_BYTES = 10 * 1024;

/**
 * Problems of one region file: the decoder's (TtShmProblemCode) and these, about reaching the file.
 * Logged with `code` in the line.
 */
export const TtShmFileProblemCode = {
  ...TtShmProblemCode,
  /** open(2) failed (EACCES: the region belongs to another user and is mode 0600, ...). */
  OPEN_FAILED: "TT_SHM_OPEN_FAILED",
  /** Not a regular file (a FIFO, a device, a symbolic link: never followed). */
  NOT_A_FILE: "TT_SHM_NOT_A_FILE",
  /** pread(2) failed; the fd is closed and the file reopened on the next scan. */
  READ_FAILED: "TT_SHM_READ_FAILED",
} as const;
export type TtShmFileProblemCode = (typeof TtShmFileProblemCode)[keyof typeof TtShmFileProblemCode];

/** One bit per problem code: which ones were already logged for a file. */
const PROBLEM_BIT: Readonly<Record<TtShmFileProblemCode, number>> = {
  [TtShmFileProblemCode.TOO_SHORT]: 1,
  [TtShmFileProblemCode.UNKNOWN_VERSION]: 2,
  [TtShmFileProblemCode.INITIALISING]: 4,
  [TtShmFileProblemCode.IMPLAUSIBLE]: 8,
  [TtShmFileProblemCode.OPEN_FAILED]: 16,
  [TtShmFileProblemCode.NOT_A_FILE]: 32,
  [TtShmFileProblemCode.READ_FAILED]: 64,
};

/** A region decoded by this scan. */
export interface RegionRead {
  /** Full path of the file. */
  readonly path: string;
  readonly region: TtShmRegion;
}

export interface RegionFilesOptions {
  readonly directory: string;
  /** Most files held and read; further matching names are ignored (one warning). */
  readonly maxFiles: number;
  readonly logger: Logger;
}

interface TrackedFile {
  readonly path: string;
  /** -1 while not open (not yet, or the last open or read failed). */
  fd: number;
  dev: number;
  ino: number;
  /** PROBLEM_BIT of every problem logged since the file was last readable. */
  warned: number;
  /** Whether it was ever decoded (its first good read is logged at info). */
  announced: boolean;
  /** The scan that last listed it; a file the latest scan did not list has vanished. */
  listedInScan: number;
}

// O_NOFOLLOW: a symbolic link planted in the shared directory is never followed. O_NONBLOCK: opening
// a FIFO planted there does not wait for a writer (it is then refused as not a regular file).
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export class RegionFiles {
  private readonly files = new Map<string, TrackedFile>();
  private readonly buffer = new Uint8Array(TT_SHM_READ_BYTES);
  private scanNumber = 0;
  /** errno code of the directory problem last logged, or undefined while it lists fine. */
  private directoryProblem: string | undefined;
  private ignoredWarned = false;

  constructor(private readonly options: RegionFilesOptions) {}

  /** Reads every region file once; the regions that decoded, in directory order. */
  scan(): RegionRead[] {
    const scan = ++this.scanNumber;
    const reads: RegionRead[] = [];
    const names = this.list();
    let ignored = 0;
    if (names !== undefined) {
      for (const name of names) {
        if (!TT_SHM_FILE_NAME.test(name)) continue;
        let file = this.files.get(name);
        if (file === undefined) {
          if (this.files.size >= this.options.maxFiles) {
            ignored++;
            continue;
          }
          file = {
            path: join(this.options.directory, name),
            fd: -1,
            dev: 0,
            ino: 0,
            warned: 0,
            announced: false,
            listedInScan: scan,
          };
          this.files.set(name, file);
        }
        file.listedInScan = scan;
        const region = this.readGuarded(file);
        if (region !== undefined) reads.push({ path: file.path, region });
      }
    }
    for (const [name, file] of this.files) {
      if (file.listedInScan === scan) continue;
      this.closeFd(file);
      this.files.delete(name);
      this.options.logger.info({ file: file.path }, "tt-metal memory region gone");
    }
    this.noteIgnored(ignored);
    return reads;
  }

  /** Whether `path` is a file this reader holds (listed by the latest scan). */
  isTracked(path: string): boolean {
    const file = this.files.get(path.slice(path.lastIndexOf("/") + 1));
    return file !== undefined && file.path === path;
  }

  /** Files currently held (listed, within maxFiles). */
  get fileCount(): number {
    return this.files.size;
  }

  /** Closes every fd; the next scan starts afresh. */
  close(): void {
    for (const file of this.files.values()) this.closeFd(file);
    this.files.clear();
  }

  private list(): string[] | undefined {
    const { directory, logger } = this.options;
    try {
      const names = readdirSync(directory);
      if (this.directoryProblem !== undefined) {
        this.directoryProblem = undefined;
        logger.info({ directory }, "tt-metal memory region directory readable again");
      }
      return names;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "UNKNOWN";
      if (this.directoryProblem !== code) {
        this.directoryProblem = code;
        logger.warn(
          { directory, code: "TT_SHM_DIRECTORY_UNAVAILABLE", errno: code },
          `cannot list ${directory} for tt-metal memory regions (${code}); retrying every scan`,
        );
      }
      return undefined;
    }
  }

  /** `read`, with any unforeseen error (a stat that fails other than ENOENT...) kept to this file. */
  private readGuarded(file: TrackedFile): TtShmRegion | undefined {
    try {
      return this.read(file);
    } catch (error) {
      this.closeFd(file);
      this.problem(file, TtShmFileProblemCode.READ_FAILED, `read failed: ${errnoOf(error)}`);
      return undefined;
    }
  }

  /** The decoded region of `file`, or undefined (problem logged, or the file vanished: dropped next). */
  private read(file: TrackedFile): TtShmRegion | undefined {
    if (file.fd >= 0) {
      const now = statSync(file.path, { throwIfNoEntry: false });
      if (now === undefined) {
        file.listedInScan = -1; // unlinked since the listing: dropped at the end of this scan
        return undefined;
      }
      if (now.ino !== file.ino || now.dev !== file.dev) this.closeFd(file);
    }
    if (file.fd < 0 && !this.open(file)) return undefined;
    let byteLength: number;
    try {
      byteLength = readSync(file.fd, this.buffer, 0, TT_SHM_READ_BYTES, 0);
    } catch (error) {
      this.closeFd(file);
      this.problem(file, TtShmFileProblemCode.READ_FAILED, `read failed: ${errnoOf(error)}`);
      return undefined;
    }
    const decoded = decodeTtShmRegion(this.buffer, byteLength);
    if (!decoded.ok) {
      this.problem(file, decoded.problem.code, decoded.problem.message);
      return undefined;
    }
    const region = decoded.region;
    if (file.warned !== 0) {
      file.warned = 0;
      this.options.logger.info({ file: file.path }, "tt-metal memory region readable again");
    }
    if (!file.announced) {
      file.announced = true;
      this.options.logger.info(
        { file: file.path, version: region.version, deviceId: region.deviceId, asicId: region.asicId },
        "tt-metal memory region found",
      );
    }
    return region;
  }

  private open(file: TrackedFile): boolean {
    let fd: number;
    try {
      fd = openSync(file.path, OPEN_FLAGS);
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === "ENOENT") file.listedInScan = -1;
      else if (errno === "ELOOP") this.problem(file, TtShmFileProblemCode.NOT_A_FILE, "a symbolic link");
      else this.problem(file, TtShmFileProblemCode.OPEN_FAILED, `open failed: ${errno}`);
      return false;
    }
    try {
      const stats = fstatSync(fd);
      if (!stats.isFile()) {
        closeSync(fd);
        this.problem(file, TtShmFileProblemCode.NOT_A_FILE, "not a regular file");
        return false;
      }
      file.fd = fd;
      file.dev = stats.dev;
      file.ino = stats.ino;
      return true;
    } catch (error) {
      closeSync(fd);
      this.problem(file, TtShmFileProblemCode.OPEN_FAILED, `fstat failed: ${errnoOf(error)}`);
      return false;
    }
  }

  private problem(file: TrackedFile, code: TtShmFileProblemCode, message: string): void {
    const bit = PROBLEM_BIT[code];
    if ((file.warned & bit) !== 0) return;
    file.warned |= bit;
    this.options.logger.warn(
      { file: file.path, code },
      `tt-metal memory region skipped: ${message} (logged once until it is readable)`,
    );
  }

  private noteIgnored(ignored: number): void {
    const { directory, maxFiles, logger } = this.options;
    if (ignored > 0 && !this.ignoredWarned) {
      this.ignoredWarned = true;
      logger.warn(
        { directory, code: "TT_SHM_TOO_MANY_FILES", maxFiles, ignored },
        `more than ${maxFiles} tt-metal memory regions in ${directory}: ${ignored} ignored`,
      );
    } else if (ignored === 0 && this.ignoredWarned) {
      this.ignoredWarned = false;
      logger.info({ directory, maxFiles }, "tt-metal memory regions within the file limit again");
    }
  }

  private closeFd(file: TrackedFile): void {
    if (file.fd < 0) return;
    try {
      closeSync(file.fd);
    } catch {
      // already closed: nothing held
    }
    file.fd = -1;
  }
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}
