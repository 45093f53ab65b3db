import type { ApiMemoryType, SeriesBucket, SeriesResponse } from "../../server/api-types.js";

/** Seconds of history top keeps and charts. */
export const CHART_SECONDS = 60;

/**
 * The last CHART_SECONDS of each device's per-second figures, merged from `GET /api/v1/series` and the
 * stream's `series` messages (which carry only the buckets that changed). Bounded: per device and type
 * at most CHART_SECONDS + 2 buckets are kept.
 */
export class SeriesWindow {
  /** deviceId → type → buckets by their second. */
  private readonly devices = new Map<number, Map<ApiMemoryType, Map<number, SeriesBucket>>>();

  merge(response: SeriesResponse): void {
    for (const device of response.devices) {
      let types = this.devices.get(device.id);
      if (types === undefined) {
        types = new Map();
        this.devices.set(device.id, types);
      }
      for (const [type, buckets] of Object.entries(device.used) as [ApiMemoryType, SeriesBucket[]][]) {
        let known = types.get(type);
        if (known === undefined) {
          known = new Map();
          types.set(type, known);
        }
        for (const bucket of buckets) known.set(bucket.t, bucket);
        trim(known);
      }
    }
  }

  /** Forgets devices the server no longer lists. */
  retain(deviceIds: readonly number[]): void {
    for (const id of this.devices.keys()) if (!deviceIds.includes(id)) this.devices.delete(id);
  }

  /**
   * The highest bytes in use in each of the last `seconds` seconds up to `nowMs` (oldest first), so
   * that a burst inside a second shows. A second with no bucket kept the value the previous one ended
   * with (the stream sends only changes); before the first bucket: 0.
   */
  maxPerSecond(deviceId: number, type: ApiMemoryType, nowMs: number, seconds = CHART_SECONDS): number[] {
    const buckets = this.devices.get(deviceId)?.get(type);
    const values = new Array<number>(seconds).fill(0);
    if (buckets === undefined || buckets.size === 0) return values;
    const lastSecond = Math.floor(nowMs / 1000) * 1000;
    const firstSecond = lastSecond - (seconds - 1) * 1000;
    // The value carried into the window: the last bucket before it.
    let carried = 0;
    let carriedT = Number.NEGATIVE_INFINITY;
    for (const bucket of buckets.values()) {
      if (bucket.t < firstSecond && bucket.t > carriedT) {
        carriedT = bucket.t;
        carried = bucket.last;
      }
    }
    for (let i = 0; i < seconds; i++) {
      const bucket = buckets.get(firstSecond + i * 1000);
      if (bucket !== undefined) {
        values[i] = bucket.max;
        carried = bucket.last;
      } else {
        values[i] = carried;
      }
    }
    return values;
  }
}

function trim(buckets: Map<number, SeriesBucket>): void {
  const limit = CHART_SECONDS + 2;
  if (buckets.size <= limit) return;
  const times = [...buckets.keys()].sort((a, b) => a - b);
  for (const t of times.slice(0, times.length - limit)) buckets.delete(t);
}
