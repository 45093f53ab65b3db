// The 1-s buckets the page knows, merged from the first GET /api/v1/series and the stream's `series`
// messages (which carry only the buckets that changed). Bounded by the server's window per figure.
import type { SeriesBucket, SeriesByType, SeriesResponse } from "../server/api-types.js";

type Buckets = Map<number, SeriesBucket>;

export class SeriesStore {
  private windowMs = 900_000;
  private readonly devices = new Map<number, Map<string, Buckets>>();
  /** Key `${sessionId}/${deviceId}`. */
  private readonly processes = new Map<string, Map<string, Buckets>>();

  merge(response: SeriesResponse): void {
    this.windowMs = response.windowMs;
    for (const device of response.devices) mergeFigure(this.devices, device.id, device.used);
    for (const p of response.processes) mergeFigure(this.processes, `${p.sessionId}/${p.deviceId}`, p.used);
    const oldest = Date.now() - this.windowMs - 1000;
    for (const figures of [...this.devices.values(), ...this.processes.values()]) {
      for (const buckets of figures.values()) {
        for (const t of buckets.keys()) if (t < oldest) buckets.delete(t);
      }
    }
  }

  /** The device's buckets per memory type, oldest first. */
  device(deviceId: number): Map<string, SeriesBucket[]> {
    return sorted(this.devices.get(deviceId));
  }

  /** One process's buckets on one device per memory type, oldest first. */
  process(sessionId: string, deviceId: number): Map<string, SeriesBucket[]> {
    return sorted(this.processes.get(`${sessionId}/${deviceId}`));
  }
}

function mergeFigure<K>(into: Map<K, Map<string, Buckets>>, key: K, used: SeriesByType): void {
  let figures = into.get(key);
  if (figures === undefined) {
    figures = new Map();
    into.set(key, figures);
  }
  for (const [type, buckets] of Object.entries(used)) {
    let known = figures.get(type);
    if (known === undefined) {
      known = new Map();
      figures.set(type, known);
    }
    for (const bucket of buckets) known.set(bucket.t, bucket);
  }
}

function sorted(figures: Map<string, Buckets> | undefined): Map<string, SeriesBucket[]> {
  const result = new Map<string, SeriesBucket[]>();
  for (const [type, buckets] of figures ?? []) {
    result.set(
      type,
      [...buckets.values()].sort((a, b) => a.t - b.t),
    );
  }
  return result;
}
