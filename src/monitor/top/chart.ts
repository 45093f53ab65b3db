const LEVELS = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"] as const;

/**
 * A one-line chart of `values` (oldest first) in `width` cells: each cell the highest value of the
 * seconds it covers, so a one-second burst is never averaged away. Scaled to `scale` (a full cell);
 * zero is blank, any use at least the lowest block.
 */
export function sparkline(values: readonly number[], width: number, scale: number): string {
  if (width <= 0) return "";
  let out = "";
  for (let cell = 0; cell < width; cell++) {
    const from = Math.floor((cell * values.length) / width);
    const to = Math.max(from + 1, Math.floor(((cell + 1) * values.length) / width));
    let max = 0;
    for (let i = from; i < to && i < values.length; i++) if (values[i]! > max) max = values[i]!;
    if (max <= 0 || !(scale > 0)) {
      out += " ";
      continue;
    }
    const level = Math.min(LEVELS.length - 1, Math.max(0, Math.ceil((max / scale) * LEVELS.length) - 1));
    out += LEVELS[level];
  }
  return out;
}

/**
 * A capacity bar `width` cells wide: `parts` filled in order with their characters (L1 then CB in the
 * L1 bar), the rest "░", and `|` where the peak reaches when it is beyond the fill.
 */
export function capacityBar(
  parts: readonly { bytes: number; char: string }[],
  peakBytes: number,
  totalBytes: number,
  width: number,
): string {
  if (!(totalBytes > 0) || width <= 0) return " ".repeat(Math.max(0, width));
  const cells: string[] = [];
  let usedBytes = 0;
  for (const part of parts) {
    const before = cellsFor(usedBytes, totalBytes, width);
    usedBytes += part.bytes;
    const after = cellsFor(usedBytes, totalBytes, width);
    for (let i = before; i < after; i++) cells.push(part.char);
  }
  while (cells.length < width) cells.push("░");
  const peakCell = cellsFor(peakBytes, totalBytes, width) - 1;
  if (peakCell >= 0 && cells[peakCell] === "░") cells[peakCell] = "|";
  return cells.join("");
}

/** Cells for `bytes` of `total`: any use at least one cell, full only at 100% or more. */
function cellsFor(bytes: number, total: number, width: number): number {
  if (bytes <= 0) return 0;
  const ratio = bytes / total;
  if (ratio >= 1) return width;
  return Math.min(width - 1, Math.max(1, Math.round(ratio * width)));
}
