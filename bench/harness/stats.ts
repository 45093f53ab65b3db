/** Order statistics over a small sample of runs (never mutates its input). */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Nearest-rank percentile, `p` in [0, 100]. Sorts in place when `sorted` is false: pass a copy you own. */
export function percentile(values: Float64Array | number[], p: number, sorted = false): number {
  if (values.length === 0) return Number.NaN;
  if (!sorted) values.sort((a, b) => a - b);
  const rank = Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1));
  return values[rank]!;
}
