import { API_MEMORY_TYPES } from "../api-types.js";
import { COARSE_STEP_S, FINE_SAMPLES_S } from "./sample-store.js";

/** A checked `GET /api/v1/history` query. Times are ms since the epoch. */
export interface HistoryRequest {
  deviceId?: number;
  /** Memory type index (protocol MemoryType). */
  memoryType?: number;
  /** Series of this process; absent: the devices' totals. */
  pid?: number;
  fromMs: number;
  toMs: number;
  /** 1000 × (1..59), or 60000 × n. */
  stepMs: number;
}

/** Range asked for when `from` is absent: the last hour. */
export const DEFAULT_HISTORY_RANGE_MS = FINE_SAMPLES_S * 1000;
/** Most steps per series one request may ask for (`step` small for its range is refused). */
export const MAX_STEPS_PER_SERIES = 10_000;
/** Steps a request gets when it names none, per series (the smallest step of STEP_CHOICES_S that fits). */
export const DEFAULT_STEPS_PER_SERIES = 600;
const STEP_CHOICES_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
const PARAMETERS = ["device", "type", "pid", "from", "to", "step"];

/** A malformed history query: the HTTP API answers 400 with this message. */
export class HistoryRequestError extends Error {
  override readonly name = "HistoryRequestError";
}

/**
 * Checks the query of `GET /api/v1/history` (docs/API.md "History"): `device` (0..65534), `type` (a
 * memory type name), `pid` (1..2^31−1), `from` and `to` (ms since the epoch; default the last hour up to
 * now), `step` (ms; 1000..59000 in whole seconds, or whole minutes; default: ~600 steps over the range,
 * at least a minute when the range reaches past the last hour, where only 1-min samples remain).
 */
export function parseHistoryRequest(params: URLSearchParams, nowMs: number): HistoryRequest {
  for (const key of params.keys()) {
    if (!PARAMETERS.includes(key)) {
      throw new HistoryRequestError(
        `unknown query parameter "${key.slice(0, 40)}" (allowed: ${PARAMETERS.join(", ")})`,
      );
    }
  }
  const request: HistoryRequest = { fromMs: 0, toMs: 0, stepMs: 0 };
  const device = params.get("device");
  if (device !== null) request.deviceId = wholeNumber(device, "device", 0, 0xfffe, "a device id");
  const type = params.get("type");
  if (type !== null) {
    const index = (API_MEMORY_TYPES as readonly string[]).indexOf(type);
    if (index < 0) {
      throw new HistoryRequestError(
        `type must be one of ${API_MEMORY_TYPES.join(", ")}, got "${type.slice(0, 40)}"`,
      );
    }
    request.memoryType = index;
  }
  const pid = params.get("pid");
  if (pid !== null) request.pid = wholeNumber(pid, "pid", 1, 0x7fffffff, "a process id");
  const to = params.get("to");
  request.toMs =
    to === null ? nowMs : wholeNumber(to, "to", 0, Number.MAX_SAFE_INTEGER, "ms since the epoch");
  const from = params.get("from");
  request.fromMs =
    from === null
      ? Math.max(0, request.toMs - DEFAULT_HISTORY_RANGE_MS)
      : wholeNumber(from, "from", 0, Number.MAX_SAFE_INTEGER, "ms since the epoch");
  if (request.fromMs > request.toMs) {
    throw new HistoryRequestError(`from (${request.fromMs}) must not be after to (${request.toMs})`);
  }
  const rangeMs = request.toMs - request.fromMs + 1000;
  const step = params.get("step");
  if (step === null) {
    // A minute of slack: "the last hour" asked a moment ago still gets seconds.
    const reachesCoarse = request.fromMs < nowMs - DEFAULT_HISTORY_RANGE_MS - 60_000;
    const fitting = STEP_CHOICES_S.find(
      (s) => (!reachesCoarse || s >= COARSE_STEP_S) && rangeMs / (s * 1000) <= DEFAULT_STEPS_PER_SERIES,
    );
    request.stepMs = (fitting ?? STEP_CHOICES_S.at(-1)!) * 1000;
  } else {
    const stepMs = wholeNumber(step, "step", 1000, 365 * 86_400_000, "milliseconds");
    if (stepMs % 1000 !== 0 || (stepMs >= 60_000 && stepMs % 60_000 !== 0)) {
      throw new HistoryRequestError(
        `step must be whole seconds below a minute (1000..59000) or whole minutes (60000, 300000, …) in ms, got ${stepMs}`,
      );
    }
    request.stepMs = stepMs;
  }
  const steps = Math.ceil(rangeMs / request.stepMs);
  if (steps > MAX_STEPS_PER_SERIES) {
    throw new HistoryRequestError(
      `from..to at step ${request.stepMs} ms is ${steps} steps per series, more than ${MAX_STEPS_PER_SERIES}: ` +
        "raise step or narrow the range",
    );
  }
  return request;
}

function wholeNumber(text: string, name: string, min: number, max: number, what: string): number {
  const value = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw new HistoryRequestError(
      `${name} must be ${what}, a whole number in ${min}..${max}, got "${text.slice(0, 40)}"`,
    );
  }
  return value;
}
