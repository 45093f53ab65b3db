import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import type { SmiJson } from "../../src/monitor/smi/json.js";
import type { SummaryResponse } from "../../src/server/api-types.js";
import { ttShmSessionId } from "../../src/server/host-devices.js";
import { runCli } from "../e2e/harness.js";
import { startTestServer } from "../server/test-server.js";
import { waitFor } from "../support/wait-for.js";
import { epochNowNs, tempDir } from "../tt-shm/fixture.js";
import { writeRegionFile } from "../tt-shm/region-writer.js";

const MiB = 1024 * 1024;
const KiB = 1024;

async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await once(child, "exit");
  return child.pid!;
}

function liveChild(t: { after(fn: () => void): void }): ChildProcess {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  t.after(() => child.kill("SIGKILL"));
  return child;
}

test("tt-metal shared-memory regions of every version show in /api/v1/summary and smi --json: devices, processes, bytes, a dead slot as leaked", async (t) => {
  const dir = tempDir(t);
  const me = process.pid;
  const child = liveChild(t);
  const dead = await exitedPid();
  const now = epochNowNs();
  // v4: this process on device 0.
  writeRegionFile(dir, {
    layout: 4,
    asicId: 1001n,
    deviceId: 0,
    totals: { DRAM: 30 * MiB, L1: MiB },
    chips: [{ chipId: 0, used: { DRAM: 30 * MiB, L1: MiB } }],
    slots: [{ pid: me, name: "trainer", used: { DRAM: 30 * MiB, L1: MiB }, lastUpdateNs: now }],
  });
  // v3: a live child and an exited process on device 1; the exited one's bytes are still in the totals.
  writeRegionFile(dir, {
    layout: 3,
    asicId: 1002n,
    deviceId: 1,
    totals: { DRAM: 13 * MiB, CB: MiB },
    slots: [
      { pid: child.pid!, name: "server", used: { DRAM: 5 * MiB }, lastUpdateNs: now },
      { pid: dead, name: "crashed", used: { DRAM: 8 * MiB, CB: MiB }, lastUpdateNs: now },
    ],
  });
  // v1 (kernel binaries counted), this process again, on device 2.
  writeRegionFile(dir, {
    layout: 1,
    asicId: 0x0203n,
    deviceId: 2,
    totals: { DRAM: MiB, KERNEL: 64 * KiB },
    slots: [{ pid: me, name: "trainer", used: { DRAM: MiB, KERNEL: 64 * KiB } }],
  });
  // v2 without per-process slots (tracking per pid was off): totals only, unattributed.
  writeRegionFile(dir, { layout: 2, asicId: 1004n, deviceId: 3, totals: { TRACE: 2 * MiB } });
  // Still being initialised: not shown.
  writeRegionFile(dir, { layout: 4, asicId: 1005n, deviceId: 4, initState: 1, totals: { DRAM: 99 * MiB } });

  const server = await startTestServer({ ttShm: { dir, scanIntervalMs: 20 } });
  t.after(() => server.stop());
  const summary = await waitFor(
    async () => {
      const body = (await server.get("/api/v1/summary")).body as SummaryResponse;
      return body.devices.length >= 4 ? body : undefined;
    },
    { what: "the four readable regions to show as devices" },
  );
  assert.deepEqual(
    summary.devices.map((d) => [d.id, d.asicId, d.sources]),
    [
      [0, "1001", ["tt-shm"]],
      [1, "1002", ["tt-shm"]],
      [2, "515", ["tt-shm"]],
      [3, "1004", ["tt-shm"]],
    ],
  );
  const [d0, d1, d2, d3] = summary.devices;
  assert.deepEqual([d0!.memory.DRAM.used, d0!.memory.L1.used, d0!.allocations], [30 * MiB, MiB, 0]);
  assert.deepEqual(
    [d1!.memory.DRAM.used, d1!.memory.DRAM.leaked, d1!.memory.CB.leaked, d1!.memory.CB.used],
    [5 * MiB, 8 * MiB, MiB, 0],
  );
  assert.deepEqual([d2!.memory.DRAM.used, d2!.memory.KERNEL.used], [MiB, 64 * KiB]);
  assert.equal(d3!.memory.TRACE.used, 2 * MiB);

  const rows = summary.processes.map((p) => [
    p.pid,
    p.name,
    p.source,
    p.state,
    p.sessionId,
    p.devices.map((d) => [d.id, d.used.DRAM]),
  ]);
  assert.deepEqual(
    rows.sort((a, b) => (a[0] as number) - (b[0] as number)),
    [
      [
        me,
        "trainer",
        "tt-shm",
        "reporting",
        ttShmSessionId(me),
        [
          [0, 30 * MiB],
          [2, MiB],
        ],
      ],
      [child.pid!, "server", "tt-shm", "reporting", ttShmSessionId(child.pid!), [[1, 5 * MiB]]],
      [dead, "crashed", "tt-shm", "dead", ttShmSessionId(dead), [[1, 8 * MiB]]],
    ].sort((a, b) => (a[0] as number) - (b[0] as number)),
  );

  const cli = await runCli(["smi", "--json", "--server", server.httpUrl!]);
  assert.equal(cli.code, 0, cli.stderr);
  const json = JSON.parse(cli.stdout) as SmiJson;
  assert.deepEqual(
    json.devices.map((d) => [d.id, d.memory["DRAM"]!.used, d.memory["DRAM"]!.leaked]),
    [
      [0, 30 * MiB, 0],
      [1, 5 * MiB, 8 * MiB],
      [2, MiB, 0],
      [3, 0, 0],
    ],
  );
  const deadRow = json.processes.find((p) => p.pid === dead)!;
  assert.deepEqual([deadRow.state, deadRow.source, deadRow.devices[0]!.used["CB"]], ["dead", "tt-shm", MiB]);

  const table = await runCli(["smi", "--server", server.httpUrl!]);
  assert.equal(table.code, 0, table.stderr);
  // Device 1's leaked bytes (MiB) on a line of their own, and the crashed process's row.
  assert.match(table.stdout, /^ {29}leak +8 +0\.0 +1\.0 /m);
  assert.match(table.stdout, /^leak: held by exited tt-metal processes/m);
  assert.match(table.stdout, new RegExp(`^\\s*${dead}\\s+crashed\\s+1\\s+8\\s.*\\sdead, leaked$`, "m"));
});

test("the summary follows the regions: a slot cleared by tt-metal leaves the view, a new region appears", async (t) => {
  const dir = tempDir(t);
  const dead = await exitedPid();
  const path = writeRegionFile(dir, {
    layout: 4,
    asicId: 7n,
    deviceId: 0,
    totals: { DRAM: 4 * MiB },
    slots: [{ pid: dead, name: "gone", used: { DRAM: 4 * MiB }, lastUpdateNs: epochNowNs() }],
  });
  const server = await startTestServer({ ttShm: { dir, scanIntervalMs: 20 } });
  t.after(() => server.stop());
  await waitFor(
    async () =>
      ((await server.get("/api/v1/summary")).body as SummaryResponse).devices[0]?.memory.DRAM.leaked ===
      4 * MiB,
    { what: "the dead slot to show as leaked" },
  );
  // A tt-metal process attaching reaps the slot: totals and slot go back to zero.
  writeRegionFile(dir, { layout: 4, asicId: 7n, deviceId: 0 });
  writeRegionFile(dir, { layout: 4, asicId: 8n, deviceId: 1, totals: { L1: MiB } });
  const after = await waitFor(
    async () => {
      const body = (await server.get("/api/v1/summary")).body as SummaryResponse;
      return body.devices.length === 2 && body.devices[0]!.memory.DRAM.leaked === 0 ? body : undefined;
    },
    { what: "the reaped slot to leave and the new region to appear" },
  );
  assert.deepEqual(after.processes, []);
  assert.equal(after.devices[1]!.memory.L1.used, MiB);
  assert.ok(path.endsWith("tt_device_7_memory"));
});
