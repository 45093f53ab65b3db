// A fixed server summary shared by the smi tests: two devices, two processes, one anomaly kind.
import {
  API_MEMORY_TYPES,
  type ApiMemoryType,
  type LegacyInfo,
  type MemoryUsage,
  type SummaryResponse,
} from "../../src/server/api-types.js";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const KiB = 1024;

function usage(used: number, total: number, allocations: number, peak = used): MemoryUsage {
  return { used, total, peak, allocations, leaked: 0 };
}

/** Bytes per memory type, every type present (0 unless given). */
function used(bytes: Partial<Record<ApiMemoryType, number>>): Record<ApiMemoryType, number> {
  return Object.fromEntries(API_MEMORY_TYPES.map((t) => [t, bytes[t] ?? 0])) as Record<ApiMemoryType, number>;
}

export const fixtureSummary: SummaryResponse = {
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
      sources: ["reported"],
      holders: [],
      overLimit: false,
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
      sources: ["reported"],
      holders: [],
      overLimit: false,
    },
  ],
  processes: [
    {
      pid: 4242,
      name: "llama-serve",
      sessionId: "ab".repeat(16),
      state: "connected",
      connections: 2,
      source: "native",
      devices: [
        { id: 1, used: used({ DRAM: 11 * GiB }), allocations: 40, overLimit: false, refusedAllocations: 0 },
        {
          id: 0,
          used: used({ DRAM: 1 * GiB, L1: 4 * MiB, TRACE: 8 * MiB, CB: 900 * KiB, KERNEL: 300 }),
          allocations: 100,
          overLimit: false,
          refusedAllocations: 0,
        },
      ],
    },
    {
      pid: 77,
      name: "resnet",
      sessionId: "cd".repeat(16),
      state: "connected",
      connections: 1,
      source: "native",
      devices: [
        {
          id: 0,
          used: used({ DRAM: 0.5 * GiB, L1: 8 * MiB + 512 * KiB, L1_SMALL: 64 * KiB }),
          allocations: 60,
          overLimit: false,
          refusedAllocations: 0,
        },
      ],
    },
  ],
  anomalies: { total: 3, byKind: { UNKNOWN_FREE: 2, ADDRESS_OVERLAP: 1 } },
  recoveries: { total: 0, byKind: {} },
  server: {
    version: "0.1.0",
    uptimeMs: 5000,
    sessions: 2,
    connections: 3,
    eventsApplied: 1000,
    ingestThreads: 1,
    socketPath: "/run/user/1000/allocwatch.sock",
    eventsStale: 0,
    clientDroppedEvents: 0,
    resyncRequests: 0,
    snapshotsApplied: 0,
    protocolErrors: 0,
    reorderBytes: 0,
    reorderBudgetBytes: 64 * MiB,
    liveAllocations: 200,
    maxLiveAllocations: 8_388_608,
    maxLiveAllocationsPerSession: 2_097_152,
    allocationsRefused: 0,
    freesExcused: 0,
    overLimit: 0,
  },
};

/** The legacy adapter's block of a summary (`server.legacy`): one refused connection, four quarantines, three unknown FREEs. */
export const legacyFixture: LegacyInfo = {
  socketPath: "/tmp/tt_allocation_server.sock",
  connections: 2,
  refusedConnections: 1,
  budgetClosures: 0,
  quarantines: 4,
  allocations: 10,
  sharedAllocations: 0,
  frees: 9,
  sharedFrees: 0,
  unknownFrees: 3,
  heldFrees: 0,
  reorderedFrees: 0,
};
