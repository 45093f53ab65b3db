import { MonitorErrorCode } from "../monitor/errors.js";

/**
 * Exit codes of the monitors (`smi`, `top`), for scripts: nvidia-smi users test `$?`. Other commands
 * keep 0 / 1 (and 2 for the usage errors they check themselves).
 */
export const ExitCode = {
  OK: 0,
  /** Anything not below (an internal error). */
  FAILURE: 1,
  /** The command line is wrong: unknown option, bad value, bad server address. */
  USAGE: 2,
  /** No allocation server answers at the address. */
  NO_SERVER: 3,
  /** Something answered, but not as an allocwatch server does (HTTP error, not a summary). */
  SERVER_ERROR: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code for a monitor's failure. */
export function exitCodeOf(code: MonitorErrorCode): ExitCode {
  switch (code) {
    case MonitorErrorCode.SERVER_UNREACHABLE:
      return ExitCode.NO_SERVER;
    case MonitorErrorCode.BAD_RESPONSE:
      return ExitCode.SERVER_ERROR;
    case MonitorErrorCode.INVALID_ENDPOINT:
      return ExitCode.USAGE;
  }
}
