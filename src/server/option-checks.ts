import { InvalidOptionError } from "./errors.js";

/** A whole number >= 1, or `fallback` when absent; anything else is refused naming the option and unit. */
export function positiveInteger(
  value: number | undefined,
  fallback: number,
  name: string,
  unit: string,
): number {
  return wholeNumberFrom(1, value, fallback, name, unit);
}

/** A whole number >= 0, or `fallback` when absent; anything else is refused naming the option and unit. */
export function nonNegativeInteger(
  value: number | undefined,
  fallback: number,
  name: string,
  unit: string,
): number {
  return wholeNumberFrom(0, value, fallback, name, unit);
}

function wholeNumberFrom(
  min: number,
  value: number | undefined,
  fallback: number,
  name: string,
  unit: string,
): number {
  if (value === undefined) return fallback;
  if (!isInteger(value, min, Number.MAX_SAFE_INTEGER)) {
    throw new InvalidOptionError(
      `${name} must be a whole number of ${unit} >= ${min} (leave it out for ${fallback}), got ${value}`,
    );
  }
  return value;
}

export function isInteger(value: unknown, min: number, max: number): boolean {
  return Number.isSafeInteger(value) && (value as number) >= min && (value as number) <= max;
}
