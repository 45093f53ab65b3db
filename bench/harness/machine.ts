import { cpus, loadavg, totalmem } from "node:os";

/** What the figures were measured on. Load average matters: the reference box is shared. */
export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  platform: string;
  /** 1, 5 and 15 minute load averages when the run started. */
  loadavg: number[];
  /** Load averages when the run ended. */
  loadavgEnd?: number[];
}

export function describeMachine(): MachineInfo {
  const cpuList = cpus();
  return {
    cores: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? "unknown",
    memoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadavg: roundLoad(loadavg()),
  };
}

export function roundLoad(load: number[]): number[] {
  return load.map((value) => Math.round(value * 100) / 100);
}
