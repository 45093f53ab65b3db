import { InvalidOptionError } from "./errors.js";
import { DEFAULT_DEV_ROOT, type HardwareOptions, type TtShmOptions } from "./host-options.js";
import { DEFAULT_TT_SHM_DIRECTORY } from "./tt-shm/tt-shm-source.js";

/** The `allocwatch serve` flags of the host readers, as commander hands them over. */
export interface HostServeFlags {
  /** `--tt-shm [dir]`: true without a directory (the default is on); `--no-tt-shm`: false. */
  ttShm?: string | boolean;
  ttShmIntervalMs?: number;
  /** `--hardware` is on by default; `--no-hardware`: false. */
  hardware?: boolean;
  devRoot?: string;
  hardwareIntervalMs?: number;
}

/**
 * startServer's `ttShm` and `hardware` options from the flags. Both readers are on unless turned off;
 * tuning a reader that is turned off is a mistake worth saying (the flag would silently do nothing).
 */
export function hostServeOptions(flags: HostServeFlags): {
  ttShm: TtShmOptions | false;
  hardware: HardwareOptions | false;
} {
  const ttShmOn = flags.ttShm !== false;
  const hardwareOn = flags.hardware !== false;
  if (!ttShmOn && flags.ttShmIntervalMs !== undefined) {
    throw new InvalidOptionError(
      "--tt-shm-interval-ms tunes the tt-metal shared-memory reader: drop --no-tt-shm",
    );
  }
  if (!hardwareOn && (flags.devRoot !== undefined || flags.hardwareIntervalMs !== undefined)) {
    throw new InvalidOptionError(
      "--dev-root and --hardware-interval-ms tune the card reader: drop --no-hardware",
    );
  }
  return {
    ttShm: ttShmOn
      ? {
          dir: typeof flags.ttShm === "string" ? flags.ttShm : DEFAULT_TT_SHM_DIRECTORY,
          scanIntervalMs: flags.ttShmIntervalMs,
        }
      : false,
    hardware: hardwareOn
      ? { devRoot: flags.devRoot ?? DEFAULT_DEV_ROOT, scanIntervalMs: flags.hardwareIntervalMs }
      : false,
  };
}
