const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"] as const;

/**
 * Bytes in binary units, as people read memory sizes: "0 B", "512 B", "1.5 KiB", "12.0 GiB".
 * Below 1 KiB the exact count; above, one decimal (three significant digits at most sizes).
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes;
  let unit = 0;
  // Switch unit at 1023.95 so rounding never prints "1024.0 KiB".
  while (value >= 1023.95 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** used / total as a whole percentage, 0 when the total is unknown. */
export function percent(used: number, total: number): number {
  if (!(total > 0)) return 0;
  return Math.round((used / total) * 100);
}
