import { API_MEMORY_TYPES, type SummaryResponse as Summary } from "../../server/api-types.js";
import { utilisation } from "../capacity.js";
import { type SmiFilter, selectSummary } from "./filter.js";

/** Version of the `smi --json` document; raised when a field changes meaning or is removed. */
export const SMI_JSON_SCHEMA_VERSION = 1;

/** One memory type of one device in `smi --json`. Byte fields are bytes. */
export interface SmiJsonMemory {
  used: number;
  total: number;
  peak: number;
  allocations: number;
  leaked: number;
  /** Whole percent of `total` in use (L1 counts CB); null when the capacity is unknown. */
  usedPercent: number | null;
  /** More in use than the capacity (L1: L1 and CB together). */
  overCapacity: boolean;
}

/** `allocwatch smi --json`: the stable, scriptable form of the smi screen (docs/SMI.md). */
export interface SmiJson {
  schemaVersion: number;
  /** When the reading was taken, ISO 8601 (UTC). */
  timestamp: string;
  server: { version: string; url: string };
  devices: {
    id: number;
    name: string;
    architecture?: string;
    memory: Record<string, SmiJsonMemory>;
    allocations: number;
    sources: string[];
    asicId?: string;
    card?: string;
    holders: { pid: number; name: string; reporting: boolean }[];
    /** Some process's figures here are lower bounds: the server's live-allocation limits refused some. */
    overLimit: boolean;
  }[];
  processes: {
    pid: number;
    name: string;
    sessionId?: string;
    state?: string;
    source?: string;
    /** overLimit: this process's figures on the device are lower bounds (refused by the server's limits). */
    devices: { id: number; used: Record<string, number>; allocations: number; overLimit: boolean }[];
  }[];
  anomalies: { total: number; byKind: Record<string, number> };
}

export interface SmiJsonContext extends SmiFilter {
  /** Time of the reading. */
  now: Date;
  /** The server's base URL. */
  serverUrl: string;
}

/** Projects a server summary onto the smi JSON shape (devices by id, processes by pid, filters applied). */
export function toSmiJson(summary: Summary, context: SmiJsonContext): SmiJson {
  const { devices, processes } = selectSummary(summary, context);
  return {
    schemaVersion: SMI_JSON_SCHEMA_VERSION,
    timestamp: context.now.toISOString(),
    server: { version: summary.server?.version ?? "unknown", url: context.serverUrl },
    devices: devices.map((d) => ({
      id: d.id,
      name: d.name,
      ...(d.architecture !== undefined ? { architecture: d.architecture } : {}),
      memory: Object.fromEntries(
        API_MEMORY_TYPES.filter((type) => d.memory[type] !== undefined).map((type) => {
          const u = d.memory[type];
          const use = utilisation(d, type);
          return [
            type,
            {
              used: u.used,
              total: u.total,
              peak: u.peak,
              allocations: u.allocations,
              leaked: u.leaked ?? 0,
              usedPercent: use.percent ?? null,
              overCapacity: use.over,
            },
          ];
        }),
      ),
      allocations: d.allocations,
      sources: [...(d.sources ?? [])],
      ...(d.asicId !== undefined ? { asicId: d.asicId } : {}),
      ...(d.card !== undefined ? { card: d.card } : {}),
      holders: (d.holders ?? []).map((h) => ({ pid: h.pid, name: h.name, reporting: h.reporting })),
      // A server older than the limits sends no flag: nothing was refused there.
      overLimit: d.overLimit === true,
    })),
    processes: processes.map((p) => ({
      pid: p.pid,
      name: p.name,
      ...(p.sessionId !== undefined ? { sessionId: p.sessionId } : {}),
      ...(p.state !== undefined ? { state: p.state } : {}),
      ...(p.source !== undefined ? { source: p.source } : {}),
      devices: p.devices.map((d) => ({
        id: d.id,
        used: { ...d.used },
        allocations: d.allocations,
        overLimit: d.overLimit === true,
      })),
    })),
    anomalies: { total: summary.anomalies.total, byKind: { ...summary.anomalies.byKind } },
  };
}
