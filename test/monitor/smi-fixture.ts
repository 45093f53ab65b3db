// A fixed server summary shared by the smi tests: two devices, two processes, one anomaly kind.
import type { Summary } from "../../src/monitor/smi/summary.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const KiB = 1024;

function usage(used: number, total: number, allocations: number, peak = used) {
  return { used, total, peak, allocations };
}

export const fixtureSummary: Summary = {
  devices: [
    {
      id: 1,
      name: "wormhole_b0 n300",
      architecture: "wormhole_b0",
      memory: {
        DRAM: usage(11 * GiB, 12 * GiB, 40),
        L1: usage(0, 93 * MiB, 0),
        SYSTEM_MEMORY: usage(0, 0, 0),
        L1_SMALL: usage(0, 2 * MiB, 0),
        TRACE: usage(0, 256 * MiB, 0),
        CB: usage(0, 0, 0),
        KERNEL: usage(0, 0, 0),
      },
      allocations: 40,
    },
    {
      id: 0,
      name: "wormhole_b0 n150",
      architecture: "wormhole_b0",
      memory: {
        DRAM: usage(1.5 * GiB, 12 * GiB, 120, 2 * GiB),
        L1: usage(12 * MiB + 512 * KiB, 93 * MiB, 30),
        SYSTEM_MEMORY: usage(0, 0, 0),
        L1_SMALL: usage(64 * KiB, 2 * MiB, 2),
        TRACE: usage(8 * MiB, 256 * MiB, 1),
        CB: usage(900 * KiB, 0, 3),
        KERNEL: usage(300, 0, 4),
      },
      allocations: 160,
    },
  ],
  processes: [
    {
      pid: 4242,
      name: "llama-serve",
      sessionId: "ab".repeat(16),
      state: "connected",
      connections: 2,
      devices: [
        { id: 1, used: { DRAM: 11 * GiB } },
        { id: 0, used: { DRAM: 1 * GiB, L1: 4 * MiB, TRACE: 8 * MiB, CB: 900 * KiB, KERNEL: 300 } },
      ],
    },
    {
      pid: 77,
      name: "resnet",
      sessionId: "cd".repeat(16),
      state: "connected",
      connections: 1,
      devices: [{ id: 0, used: { DRAM: 0.5 * GiB, L1: 8 * MiB + 512 * KiB, L1_SMALL: 64 * KiB } }],
    },
  ],
  anomalies: { total: 3, byKind: { unknown_free: 2, overlap: 1 } },
};
