import type { SummaryResponse as Summary } from "../../server/api-types.js";

/** `allocwatch smi --json`: the stable, scriptable form of the smi screen. Byte fields are bytes. */
export interface SmiJson {
  devices: {
    id: number;
    name: string;
    architecture?: string;
    memory: Record<
      string,
      { used: number; total: number; peak: number; allocations: number; leaked: number }
    >;
    allocations: number;
    sources: string[];
    asicId?: string;
    card?: string;
    holders: { pid: number; name: string; reporting: boolean }[];
  }[];
  processes: {
    pid: number;
    name: string;
    sessionId?: string;
    state?: string;
    source?: string;
    devices: { id: number; used: Record<string, number>; allocations: number }[];
  }[];
  anomalies: { total: number; byKind: Record<string, number> };
}

/** Projects a server summary onto the smi JSON shape (devices by id, processes by pid). */
export function toSmiJson(summary: Summary): SmiJson {
  return {
    devices: [...summary.devices]
      .sort((a, b) => a.id - b.id)
      .map((d) => ({
        id: d.id,
        name: d.name,
        ...(d.architecture !== undefined ? { architecture: d.architecture } : {}),
        memory: Object.fromEntries(
          Object.entries(d.memory).map(([type, u]) => [
            type,
            { used: u.used, total: u.total, peak: u.peak, allocations: u.allocations, leaked: u.leaked ?? 0 },
          ]),
        ),
        allocations: d.allocations,
        sources: [...(d.sources ?? [])],
        ...(d.asicId !== undefined ? { asicId: d.asicId } : {}),
        ...(d.card !== undefined ? { card: d.card } : {}),
        holders: (d.holders ?? []).map((h) => ({ pid: h.pid, name: h.name, reporting: h.reporting })),
      })),
    processes: [...summary.processes]
      .sort((a, b) => a.pid - b.pid)
      .map((p) => ({
        pid: p.pid,
        name: p.name,
        ...(p.sessionId !== undefined ? { sessionId: p.sessionId } : {}),
        ...(p.state !== undefined ? { state: p.state } : {}),
        ...(p.source !== undefined ? { source: p.source } : {}),
        devices: [...p.devices]
          .sort((a, b) => a.id - b.id)
          .map((d) => ({ id: d.id, used: { ...d.used }, allocations: d.allocations })),
      })),
    anomalies: { total: summary.anomalies.total, byKind: { ...summary.anomalies.byKind } },
  };
}
