// Which process slots have a live owner: real processes for a live pid, an exited one, and a process
// younger than the slot's last update; an injected lookup for a pid reused while the reader watches.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { PROCESS_GONE } from "../../src/server/process-liveness.js";
import type { ProcessLookup } from "../../src/server/tt-shm/slot-owners.js";
import { epochNowNs, readerOf, type TestCleanup, tempDir } from "./fixture.js";
import { buildRegion, overwriteRegionFile, writeRegionFile } from "./region-writer.js";

async function liveChild(t: TestCleanup): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  await once(child, "spawn");
  t.after(() => child.kill("SIGKILL"));
  return child;
}

async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await once(child, "exit"); // reaped by Node: no zombie left
  return child.pid!;
}

test("two processes on two chips: each region lists its slots, live pids alive", async (t) => {
  const dir = tempDir(t);
  const child = await liveChild(t);
  const now = epochNowNs();
  writeRegionFile(dir, {
    layout: 4,
    asicId: 1001n,
    deviceId: 0,
    totals: { DRAM: 300, L1: 30 },
    chips: [{ chipId: 0, used: { DRAM: 300, L1: 30 } }],
    slots: [
      { pid: process.pid, name: "node", used: { DRAM: 100 }, lastUpdateNs: now },
      { pid: child.pid!, name: "child", used: { DRAM: 200, L1: 30 }, lastUpdateNs: now },
    ],
  });
  writeRegionFile(dir, {
    layout: 4,
    asicId: 1002n,
    deviceId: 1,
    totals: { CB: 64 },
    chips: [{ chipId: 1, used: { CB: 64 } }],
    slots: [{ index: 9, pid: child.pid!, name: "child", used: { CB: 64 }, lastUpdateNs: now }],
  });
  const { source } = readerOf(t, dir);
  const devices = source.scanOnce();
  assert.deepEqual(
    devices.map((d) => [d.deviceId, d.asicId, d.totalsBytes, d.chips.map((c) => c.chipId)]),
    [
      [0, "1001", [300, 30, 0, 0, 0, 0, 0], [0]],
      [1, "1002", [0, 0, 0, 0, 0, 64, 0], [1]],
    ],
  );
  assert.deepEqual(
    devices.map((d) => d.processes.map((p) => [p.pid, p.name, p.usedBytes, p.alive])),
    [
      [
        [process.pid, "node", [100, 0, 0, 0, 0, 0, 0], true],
        [child.pid, "child", [200, 30, 0, 0, 0, 0, 0], true],
      ],
      [[child.pid, "child", [0, 0, 0, 0, 0, 64, 0], true]],
    ],
  );
  assert.deepEqual(source.devices(), devices, "devices() is the latest scan");
});

test("an exited process's slot is alive:false; its bytes stay in the totals as tt-metal left them", async (t) => {
  const dir = tempDir(t);
  const dead = await exitedPid();
  const now = epochNowNs();
  writeRegionFile(dir, {
    layout: 3,
    totals: { DRAM: 4096 },
    slots: [
      { pid: dead, name: "gone", used: { DRAM: 4096 }, lastUpdateNs: now },
      { pid: process.pid, name: "node", lastUpdateNs: now },
    ],
  });
  const { source } = readerOf(t, dir);
  const [device] = source.scanOnce();
  assert.deepEqual(
    device?.processes.map((p) => [p.pid, p.alive]),
    [
      [dead, false],
      [process.pid, true],
    ],
  );
  assert.equal(device?.totalsBytes[0], 4096);
});

test("v2+: a live pid whose process started after the slot's last update is not its owner", async (t) => {
  const dir = tempDir(t);
  const child = await liveChild(t); // started just now
  const hourAgo = epochNowNs() - 3_600_000_000_000n;
  writeRegionFile(dir, {
    layout: 4,
    asicId: 1n,
    slots: [
      { pid: child.pid!, name: "old-owner", lastUpdateNs: hourAgo },
      { pid: process.pid, name: "node", lastUpdateNs: epochNowNs() },
      { pid: child.pid!, name: "never-written", lastUpdateNs: 0n },
    ],
  });
  // v1 stamps are steady-clock ns, not comparable with start times: the rule does not apply.
  writeRegionFile(dir, { layout: 1, asicId: 2n, slots: [{ pid: child.pid!, name: "v1", lastUpdateNs: 5n }] });
  const { source } = readerOf(t, dir);
  assert.deepEqual(
    source.scanOnce().map((d) => d.processes.map((p) => [p.name, p.alive])),
    [
      [
        ["old-owner", false],
        ["node", true],
        ["never-written", true],
      ],
      [["v1", true]],
    ],
  );
});

test("a pid reused while watched (another start time than first seen) is dead; a new pid in the slot is not", (t) => {
  const dir = tempDir(t);
  const startTicks = new Map<number, number>([
    [500, 1000],
    [600, 0], // running, start time unreadable (another user's process: EPERM)
  ]);
  let lookups = 0;
  const processes: ProcessLookup = {
    startTicks(pid) {
      lookups++;
      return startTicks.get(pid) ?? PROCESS_GONE;
    },
    startedAtEpochNs: () => undefined,
  };
  const region = (pid: number) =>
    buildRegion({
      layout: 1,
      slots: [
        { pid, name: "p" },
        { pid: 600, name: "other-user" },
      ],
    });
  const path = writeRegionFile(dir, {
    layout: 1,
    slots: [
      { pid: 500, name: "p" },
      { pid: 600, name: "other-user" },
    ],
  });
  const { source } = readerOf(t, dir, { processes });
  const alive = () => source.scanOnce()[0]?.processes.map((p) => p.alive);
  assert.deepEqual(alive(), [true, true]);
  assert.equal(lookups, 2, "one lookup per pid per scan");
  startTicks.set(500, 2000); // pid 500 now runs another process
  assert.deepEqual(alive(), [false, true]);
  assert.deepEqual(alive(), [false, true], "and stays dead");
  overwriteRegionFile(path, region(501)); // the slot has a new owner
  startTicks.set(501, 3000);
  assert.deepEqual(alive(), [true, true]);
  startTicks.delete(501);
  assert.deepEqual(alive(), [false, true], "gone");
});

test("lookups are cached per scan: a pid in many slots and files costs one lookup", (t) => {
  const dir = tempDir(t);
  let lookups = 0;
  const processes: ProcessLookup = {
    startTicks: () => {
      lookups++;
      return 77;
    },
    startedAtEpochNs: () => undefined,
  };
  const slots = Array.from({ length: 64 }, () => ({ pid: 4321, name: "same" }));
  for (const asicId of [1n, 2n, 3n]) writeRegionFile(dir, { layout: 4, asicId, slots });
  const { source } = readerOf(t, dir, { processes });
  assert.equal(source.scanOnce().flatMap((d) => d.processes).length, 192);
  assert.equal(lookups, 1);
  source.scanOnce();
  assert.equal(lookups, 2, "looked up afresh in the next scan");
});
