const FULL = "█";
const EMPTY = "░";

/**
 * A fixed-width usage bar: `width` cells, each full or empty, filled in proportion to used/total.
 * Any non-zero use shows at least one cell (a small leak must stay visible) and the bar is full only
 * at 100%. Over-capacity clamps to full.
 */
export function usageBar(used: number, total: number, width: number): string {
  if (!(total > 0) || width <= 0) return EMPTY.repeat(Math.max(0, width));
  const ratio = Math.min(1, Math.max(0, used / total));
  let cells = Math.round(ratio * width);
  if (used > 0 && cells === 0) cells = 1;
  if (ratio < 1 && cells === width) cells = width - 1;
  return FULL.repeat(cells) + EMPTY.repeat(width - cells);
}
