import { API_MEMORY_TYPES, type PerMemoryType, type ProcessSummary } from "../api-types.js";

/** One process's bytes on one device: the labels and values of its per-type series. */
export interface ProcessDeviceSeries {
  pid: number;
  /** The process name as the client gave it (prom-client escapes it in the exposition). */
  name: string;
  deviceId: number;
  /** Bytes per memory type name. */
  used: PerMemoryType;
}

/**
 * The per-process series of a scrape: one entry per (pid, name, device), summing the sessions a process
 * may hold (labels carry no session id, so two sessions of one process must not collide), at most
 * `maxSeries` series (7 per entry). Past the limit the entries holding the fewest bytes are left out.
 */
export function processSeries(
  processes: readonly ProcessSummary[],
  maxSeries: number,
): { series: ProcessDeviceSeries[]; omittedSeries: number } {
  const byKey = new Map<string, ProcessDeviceSeries>();
  for (const p of processes) {
    for (const device of p.devices) {
      const key = `${p.pid}\u0000${p.name}\u0000${device.id}`;
      let entry = byKey.get(key);
      if (entry === undefined) {
        entry = { pid: p.pid, name: p.name, deviceId: device.id, used: emptyPerType() };
        byKey.set(key, entry);
      }
      for (const type of API_MEMORY_TYPES) entry.used[type] += device.used[type];
    }
  }
  const series = [...byKey.values()];
  const perEntry = API_MEMORY_TYPES.length;
  const kept = Math.max(0, Math.floor(maxSeries / perEntry));
  if (series.length <= kept) return { series, omittedSeries: 0 };
  const weight = new Map(series.map((s) => [s, totalBytes(s.used)]));
  series.sort((a, b) => weight.get(b)! - weight.get(a)! || a.pid - b.pid || a.deviceId - b.deviceId);
  return { series: series.slice(0, kept), omittedSeries: (series.length - kept) * perEntry };
}

function emptyPerType(): PerMemoryType {
  const out = {} as PerMemoryType;
  for (const type of API_MEMORY_TYPES) out[type] = 0;
  return out;
}

function totalBytes(used: PerMemoryType): number {
  let sum = 0;
  for (const type of API_MEMORY_TYPES) sum += used[type];
  return sum;
}
