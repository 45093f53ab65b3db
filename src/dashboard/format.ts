// How figures are written on the page: bytes with binary units, ages, colours.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

/** `bytes` with a binary unit, 3 significant digits ("1.50 MiB", "512 B"). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 ? 0 : value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** An age in ms as "850 ms", "12.3 s", "4 min 2 s", "3 h 5 min". */
export function formatAge(ageMs: number): string {
  if (ageMs < 1000) return `${Math.round(ageMs)} ms`;
  const seconds = ageMs / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.floor(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** An address in hex ("0x0001a000"). */
export function formatAddress(address: number): string {
  return `0x${address.toString(16).padStart(8, "0")}`;
}

/** One colour per memory type, the same on cards and charts. */
export const TYPE_COLOURS: Readonly<Record<string, string>> = {
  DRAM: "#2f81f7",
  L1: "#3fb950",
  SYSTEM_MEMORY: "#a371f7",
  L1_SMALL: "#d29922",
  TRACE: "#db61a2",
  CB: "#f85149",
  KERNEL: "#8b949e",
};

/** A stable colour per process (golden-angle hues keep neighbouring pids apart). */
export function processColour(pid: number): string {
  return `hsl(${(pid * 137.508) % 360} 65% 52%)`;
}
