import { InvalidOptionError } from "../errors.js";

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Longest duration accepted (10 years): beyond, a typo more likely than an intent. */
export const MAX_DURATION_MS = 3650 * 86_400_000;

/**
 * A duration as people write it: a whole number and a unit, s (seconds), m (minutes), h (hours), d (days)
 * or w (weeks), e.g. "7d", "12h", "90m". `name` names the flag in the error (InvalidOptionError).
 */
export function parseDuration(text: string, name: string): number {
  const match = /^(\d{1,7})([smhdw])$/.exec(text.trim());
  const ms = match === null ? Number.NaN : Number(match[1]) * UNIT_MS[match[2]!]!;
  if (!(ms >= 1000 && ms <= MAX_DURATION_MS)) {
    throw new InvalidOptionError(
      `${name} must be a whole number and a unit s, m, h, d or w, from 1s to 3650d (e.g. 7d, 12h, 90m), ` +
        `got "${text.slice(0, 40)}"`,
    );
  }
  return ms;
}

/** The largest whole unit that writes `ms` exactly: 604800000 → "7d", 5400000 → "90m". */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"]) {
    const size = UNIT_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
