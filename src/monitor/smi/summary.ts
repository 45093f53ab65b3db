/**
 * The part of the server's `GET /api/v1/summary` answer that smi reads. All byte fields are bytes.
 * (Kept structurally compatible with the server's published API types; a test holds the two together.)
 */
export interface MemoryUsage {
  /** Live bytes. */
  used: number;
  /** Capacity, bytes (0 = the device has none of this memory, or it is unknown). */
  total: number;
  /** Highest `used` seen since the server started, bytes. */
  peak: number;
  /** Live allocations of this type. */
  allocations: number;
}

export interface DeviceSummary {
  id: number;
  name: string;
  architecture?: string;
  /** Keyed by memory type name (DRAM, L1, SYSTEM_MEMORY, L1_SMALL, TRACE, CB, KERNEL). */
  memory: Record<string, MemoryUsage>;
  /** Live allocations on the device, all types. */
  allocations: number;
}

export interface ProcessDeviceUsage {
  id: number;
  /** Live bytes per memory type name. */
  used: Record<string, number>;
}

export interface ProcessSummary {
  pid: number;
  name: string;
  sessionId?: string;
  state?: string;
  connections?: number;
  devices: ProcessDeviceUsage[];
}

export interface AnomalySummary {
  total: number;
  byKind: Record<string, number>;
}

export interface Summary {
  devices: DeviceSummary[];
  processes: ProcessSummary[];
  anomalies: AnomalySummary;
  server?: Record<string, unknown>;
}
