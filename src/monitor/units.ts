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

const MiB = 1024 * 1024;

/**
 * Bytes as MiB with a fixed number of decimals, the one unit of every smi column (as nvidia-smi):
 * "12288", "13.4". Use too small to show at that precision prints as "<0.1" (or "<1"), never as 0.
 */
export function formatMiB(bytes: number, decimals: 0 | 1): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  if (bytes === 0) return decimals === 0 ? "0" : "0.0";
  const value = bytes / MiB;
  const smallest = decimals === 0 ? 1 : 0.1;
  if (value < smallest / 2) return `<${decimals === 0 ? "1" : "0.1"}`;
  return value.toFixed(decimals);
}
