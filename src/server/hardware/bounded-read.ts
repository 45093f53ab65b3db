import { closeSync, openSync, readSync } from "node:fs";

/**
 * The first `maxBytes` bytes of a file, as latin1 text (sysfs and /proc files are ASCII). Reads in a loop:
 * /proc files can return less than asked per read. Throws what `open`/`read` throw (ENOENT, EACCES…).
 */
export function readBounded(path: string, maxBytes: number): string {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(maxBytes);
    let filled = 0;
    while (filled < maxBytes) {
      const read = readSync(fd, buffer, filled, maxBytes - filled, null);
      if (read === 0) break;
      filled += read;
    }
    return buffer.toString("latin1", 0, filled);
  } finally {
    closeSync(fd);
  }
}
