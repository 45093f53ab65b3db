import type { DeviceSummary, ProcessSummary, SummaryResponse } from "../../server/api-types.js";

/** `smi -i/--id` and `--pid`: which devices and processes are shown (all when absent). */
export interface SmiFilter {
  deviceIds?: readonly number[];
  pids?: readonly number[];
}

/**
 * The devices (by id) and processes (by pid, each with only the chosen devices' rows) a filtered smi
 * shows. A process with no row left on a chosen device is left out; with no device filter a process
 * that holds nothing keeps its (empty) place.
 */
export function selectSummary(
  summary: SummaryResponse,
  filter: SmiFilter,
): { devices: DeviceSummary[]; processes: ProcessSummary[] } {
  const { deviceIds, pids } = filter;
  const devices = summary.devices
    .filter((d) => deviceIds === undefined || deviceIds.includes(d.id))
    .sort((a, b) => a.id - b.id);
  const processes: ProcessSummary[] = [];
  for (const process of [...summary.processes].sort((a, b) => a.pid - b.pid)) {
    if (pids !== undefined && !pids.includes(process.pid)) continue;
    const rows = process.devices
      .filter((d) => deviceIds === undefined || deviceIds.includes(d.id))
      .sort((a, b) => a.id - b.id);
    if (rows.length === 0 && deviceIds !== undefined) continue;
    processes.push({ ...process, devices: rows });
  }
  return { devices, processes };
}
