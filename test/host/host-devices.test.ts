import assert from "node:assert/strict";
import { test } from "node:test";
import { WORMHOLE_B0_N150 } from "../../src/device/presets.js";
import { API_MEMORY_TYPES, type DeviceSummary, type ProcessSummary } from "../../src/server/api-types.js";
import {
  type HostCard,
  HostDevices,
  type HostShmDevice,
  type HostShmProcess,
  ttShmSessionId,
} from "../../src/server/host-devices.js";

const MiB = 1024 * 1024;

/** Bytes by MemoryType index: DRAM 0, L1 1, SYSTEM_MEMORY 2, L1_SMALL 3, TRACE 4, CB 5, KERNEL 6. */
function bytes(dram: number, l1 = 0, cb = 0): number[] {
  return [dram, l1, 0, 0, 0, cb, 0];
}

function slot(pid: number, used: number[], alive = true): HostShmProcess {
  return { pid, name: `proc${pid}`, usedBytes: used, alive };
}

function region(
  deviceId: number,
  asicId: string,
  totals: number[],
  processes: HostShmProcess[],
): HostShmDevice {
  return { deviceId, asicId, totalsBytes: totals, processes };
}

function sessionDevice(id: number, dram: number): DeviceSummary {
  const memory = Object.fromEntries(
    API_MEMORY_TYPES.map((t) => [
      t,
      { used: t === "DRAM" ? dram : 0, total: 0, peak: dram, allocations: 1, leaked: 0 },
    ]),
  ) as DeviceSummary["memory"];
  return {
    id,
    name: "unknown",
    architecture: "unknown",
    memory,
    allocations: 1,
    sources: ["reported"],
    holders: [],
    overLimit: false,
  };
}

function nativeProcess(pid: number, deviceId: number, dram: number): ProcessSummary {
  const used = Object.fromEntries(API_MEMORY_TYPES.map((t) => [t, t === "DRAM" ? dram : 0])) as Record<
    (typeof API_MEMORY_TYPES)[number],
    number
  >;
  return {
    pid,
    name: "native",
    sessionId: "ab".repeat(16),
    state: "connected",
    connections: 1,
    source: "native",
    devices: [{ id: deviceId, used, allocations: 1, overLimit: false, refusedAllocations: 0 }],
  };
}

function merge(
  sources: ConstructorParameters<typeof HostDevices>[0],
  devices: DeviceSummary[] = [],
  processes: ProcessSummary[] = [],
): { devices: DeviceSummary[]; processes: ProcessSummary[] } {
  new HostDevices(sources).extend(devices, processes);
  return { devices, processes };
}

test("two processes on two chips: each region is a device with its totals, each slot a tt-shm process", () => {
  const { devices, processes } = merge({
    ttShm: {
      devices: () => [
        region(0, "1001", bytes(30 * MiB, MiB), [slot(100, bytes(30 * MiB, MiB))]),
        region(1, "1002", bytes(5 * MiB), [slot(200, bytes(5 * MiB))]),
      ],
    },
  });
  assert.deepEqual(
    devices.map((d) => [d.id, d.asicId, d.sources, d.memory.DRAM.used, d.memory.L1.used]),
    [
      [0, "1001", ["tt-shm"], 30 * MiB, MiB],
      [1, "1002", ["tt-shm"], 5 * MiB, 0],
    ],
  );
  assert.deepEqual(
    processes.map((p) => [p.pid, p.source, p.state, p.sessionId, p.devices.map((d) => [d.id, d.used.DRAM])]),
    [
      [100, "tt-shm", "reporting", ttShmSessionId(100), [[0, 30 * MiB]]],
      [200, "tt-shm", "reporting", ttShmSessionId(200), [[1, 5 * MiB]]],
    ],
  );
});

test("a dead process's slot is leaked memory, not use, and its process is shown as dead", () => {
  const { devices, processes } = merge({
    ttShm: {
      devices: () => [
        region(0, "7", bytes(12 * MiB), [slot(100, bytes(4 * MiB)), slot(101, bytes(8 * MiB), false)]),
      ],
    },
  });
  assert.equal(devices[0]!.memory.DRAM.used, 4 * MiB);
  assert.equal(devices[0]!.memory.DRAM.leaked, 8 * MiB);
  const dead = processes.find((p) => p.pid === 101)!;
  assert.equal(dead.state, "dead");
  assert.equal(dead.devices[0]!.used.DRAM, 8 * MiB);
});

test("a (pid, device) that reports per buffer wins over its shared-memory slot: nothing is counted twice", () => {
  const { devices, processes } = merge(
    {
      ttShm: {
        devices: () => [
          region(0, "7", bytes(10 * MiB), [slot(100, bytes(6 * MiB)), slot(300, bytes(4 * MiB))]),
        ],
      },
    },
    [sessionDevice(0, 6 * MiB)],
    [nativeProcess(100, 0, 6 * MiB)],
  );
  // 6 MiB from the native session + 4 MiB from pid 300's slot; pid 100's slot (6 MiB) is left out.
  assert.equal(devices[0]!.memory.DRAM.used, 10 * MiB);
  assert.deepEqual(devices[0]!.sources, ["reported", "tt-shm"]);
  assert.deepEqual(
    processes.map((p) => [p.pid, p.source]),
    [
      [100, "native"],
      [300, "tt-shm"],
    ],
  );
});

test("totals beyond the slots (per-process tracking off) count as used, unattributed", () => {
  const { devices, processes } = merge({
    ttShm: { devices: () => [region(2, "9", bytes(3 * MiB, 0, MiB), [])] },
  });
  assert.equal(devices[0]!.id, 2);
  assert.equal(devices[0]!.memory.DRAM.used, 3 * MiB);
  assert.equal(devices[0]!.memory.CB.used, MiB);
  assert.equal(processes.length, 0);
});

test("two regions naming one device id for different chips: the lowest asic id keeps it, the other moves, stably", () => {
  const regions = [region(0, "20", bytes(2), []), region(0, "10", bytes(1), [])];
  const host = new HostDevices({ ttShm: { devices: () => regions } });
  for (let round = 0; round < 2; round++) {
    const devices: DeviceSummary[] = [];
    host.extend(devices, []);
    assert.deepEqual(
      devices.map((d) => [d.id, d.asicId, d.memory.DRAM.used]),
      [
        [0, "10", 1],
        [1, "20", 2],
      ],
    );
  }
});

test("cards: device per /dev/tenstorrent node, capacities from the preset, holders marked reporting or not", () => {
  const cards: HostCard[] = [
    {
      ordinal: 0,
      cardType: "n150",
      preset: WORMHOLE_B0_N150,
      architecture: "WORMHOLE_B0",
      asicId: "00000000000003e9",
      holders: [
        { pid: 100, name: "tt-app" },
        { pid: 555, name: "idle-holder" },
      ],
    },
    { ordinal: 1, cardType: "unknown", preset: undefined, architecture: "unknown", holders: [] },
  ];
  const { devices } = merge({
    hardware: { devices: () => cards },
    // asic id 1001 = 0x3e9: this region is card 0's chip, whatever device id it names.
    ttShm: { devices: () => [region(5, "1001", bytes(MiB), [slot(100, bytes(MiB))])] },
  });
  assert.deepEqual(
    devices.map((d) => [d.id, d.card, d.name, d.sources]),
    [
      [0, "n150", WORMHOLE_B0_N150.name, ["hardware", "tt-shm"]],
      [1, "unknown", "unknown", ["hardware"]],
    ],
  );
  assert.ok(devices[0]!.memory.DRAM.total > 0, "capacity from the n150 preset");
  assert.equal(devices[0]!.memory.DRAM.used, MiB);
  assert.deepEqual(devices[0]!.holders, [
    { pid: 100, name: "tt-app", reporting: true },
    { pid: 555, name: "idle-holder", reporting: false },
  ]);
});

test("discoveredDevices lists cards (with presets) and regions, for the legacy protocol's DEVICE_INFO", () => {
  const host = new HostDevices({
    hardware: {
      devices: () => [
        { ordinal: 0, cardType: "n150", preset: WORMHOLE_B0_N150, architecture: "WORMHOLE_B0", holders: [] },
      ],
    },
    ttShm: { devices: () => [region(3, "44", bytes(0), [])] },
  });
  assert.deepEqual(host.discoveredDevices(), [
    { deviceId: 0, preset: WORMHOLE_B0_N150 },
    { deviceId: 3, preset: undefined },
  ]);
});

test("peaks of shared-memory use are kept across summaries", () => {
  let dram = 8 * MiB;
  const host = new HostDevices({ ttShm: { devices: () => [region(0, "1", bytes(dram), [])] } });
  host.extend([], []);
  dram = MiB;
  const devices: DeviceSummary[] = [];
  host.extend(devices, []);
  assert.equal(devices[0]!.memory.DRAM.used, MiB);
  assert.equal(devices[0]!.memory.DRAM.peak, 8 * MiB);
});
