import { MEMORY_TYPE_COUNT } from "../../protocol/memory-type.js";
import { API_MEMORY_TYPES, type SeriesBucket, type SeriesByType, type SeriesResponse } from "../api-types.js";
import type { DeviceTotals } from "../registry.js";
import {
  SERIES_BUCKET_MS,
  SERIES_BUCKETS,
  SERIES_WINDOW_MS,
  type SeriesClock,
  type UsageFigure,
  type UsageSeries,
} from "./usage-series.js";

/**
 * The buckets of `figure` from second `sinceSecond` on (clipped to the window and to when each type
 * started), oldest first; a type that never changed has no buckets.
 */
export function seriesByType(figure: UsageFigure, clock: SeriesClock, sinceSecond: number): SeriesByType {
  const out = {} as SeriesByType;
  const now = clock.second;
  const windowStart = now - SERIES_BUCKETS + 1;
  for (let t = 0; t < MEMORY_TYPE_COUNT; t++) {
    const buckets: SeriesBucket[] = [];
    out[API_MEMORY_TYPES[t]] = buckets;
    if (!figure.hasBuckets(t)) continue;
    const ring = figure.rings[t]!;
    const from = Math.max(windowStart, sinceSecond, figure.firstSecond[t]);
    for (let second = from; second <= now; second++) {
      // The bucket of `second` sits (now − second) slots behind the head.
      let index = clock.head - (now - second);
      if (index < 0) index += SERIES_BUCKETS;
      const i = index * 3;
      buckets.push({ t: second * SERIES_BUCKET_MS, min: ring[i], max: ring[i + 1], last: ring[i + 2] });
    }
  }
  return out;
}

/** The first whole second at or after `sinceMs` (buckets with t >= sinceMs). */
export function secondAtOrAfter(sinceMs: number): number {
  return Math.ceil(sinceMs / SERIES_BUCKET_MS);
}

/** Whose figures a SeriesResponse lists: a Registry's devices and ledgers, or the ShardMirror's. */
export interface FigureHolders {
  devices(): Iterable<DeviceTotals>;
  findDevice(deviceId: number): DeviceTotals | undefined;
}

/** Which figures a SeriesResponse lists. */
export interface SeriesSelection {
  /** Only this device (and its sessions); undefined: every device. */
  deviceId?: number;
  /** Only figures whose `changed` mark is set (the stream's increments). */
  changedOnly: boolean;
  /** Only buckets of this second or later. */
  sinceSecond: number;
}

/** The SeriesResponse of the registry's figures (devices, then each device's sessions). */
export function seriesResponse(
  registry: FigureHolders,
  clock: SeriesClock,
  selection: SeriesSelection,
): SeriesResponse {
  const response: SeriesResponse = {
    bucketMs: SERIES_BUCKET_MS,
    windowMs: SERIES_WINDOW_MS,
    devices: [],
    processes: [],
  };
  const devices =
    selection.deviceId === undefined
      ? [...registry.devices()].sort((a, b) => a.deviceId - b.deviceId)
      : [registry.findDevice(selection.deviceId)].filter((d) => d !== undefined);
  for (const device of devices) {
    if (!selection.changedOnly || device.series.changed) {
      response.devices.push({
        id: device.deviceId,
        used: seriesByType(device.series, clock, selection.sinceSecond),
      });
    }
    for (const ledger of device.ledgers) {
      if (selection.changedOnly && !ledger.series.changed) continue;
      response.processes.push({
        sessionId: ledger.account.sessionId,
        pid: ledger.account.pid,
        deviceId: device.deviceId,
        used: seriesByType(ledger.series, clock, selection.sinceSecond),
      });
    }
  }
  return response;
}

/** Clears every figure's `changed` mark (after the stream sent them). */
export function clearChangeMarks(registry: FigureHolders): void {
  for (const device of registry.devices()) {
    device.series.changed = false;
    for (const ledger of device.ledgers) ledger.series.changed = false;
  }
}

/** A figure with no buckets for any type. */
export function emptySeriesByType(): SeriesByType {
  const out = {} as SeriesByType;
  for (const name of API_MEMORY_TYPES) out[name] = [];
  return out;
}

/** The series part of the live stream: the buckets that changed since the previous increment. */
export class SeriesIncrements {
  private sinceSecond: number;

  constructor(
    private readonly registry: FigureHolders,
    private readonly series: UsageSeries,
  ) {
    this.sinceSecond = series.clock.second;
  }

  /** Forgets the changes so far: the next increment starts at the current second. */
  restart(): void {
    clearChangeMarks(this.registry);
    this.sinceSecond = this.series.clock.second;
  }

  changed(): boolean {
    return this.series.anyChanged();
  }

  /**
   * Figures that changed since the previous call, with their buckets from the second of that call on
   * (that bucket may have grown since); clears the change marks.
   */
  take(): SeriesResponse {
    this.series.catchUp();
    const response = seriesResponse(this.registry, this.series.clock, {
      changedOnly: true,
      sinceSecond: this.sinceSecond,
    });
    clearChangeMarks(this.registry);
    this.sinceSecond = this.series.clock.second;
    return response;
  }
}
