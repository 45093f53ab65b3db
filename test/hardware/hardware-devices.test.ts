// The periodic source: when it scans, how it stops, what it refuses, and that a scan never throws.
import assert from "node:assert/strict";
import { closeSync, openSync } from "node:fs";
import { test } from "node:test";
import { ServerErrorCode } from "../../src/server/errors.js";
import { HardwareDevices } from "../../src/server/hardware/hardware-devices.js";
import { ManualTimers, type TimerScheduler } from "../../src/server/timers.js";
import { waitFor } from "../support/wait-for.js";
import { capturingLogger, FakeRoot } from "./fake-root.js";

/**
 * `manual`'s timers with a clock that runs `stepMs` further ahead at every reading: code that reads the
 * clock twice around some work sees it take `stepMs`; timers still fire on `manual.advance`.
 */
function steppingClock(manual: ManualTimers, stepMs: number): TimerScheduler {
  let aheadMs = 0;
  return {
    set: manual.set.bind(manual),
    clear: manual.clear.bind(manual),
    nowMs: () => {
      aheadMs += stepMs;
      return manual.nowMs() + aheadMs;
    },
  };
}

test("start() scans at once, then every scanIntervalMs; stop() ends it; start() twice is one timer", () => {
  const root = new FakeRoot();
  try {
    root.addCard(0, { cardType: "n150" });
    const timers = new ManualTimers();
    const { log } = capturingLogger();
    const hardware = new HardwareDevices({ log, devRoot: root.path, timers });
    assert.deepEqual(hardware.devices(), [], "nothing before the first scan");
    hardware.start();
    hardware.start();
    assert.equal(hardware.devices().length, 1);
    assert.equal(timers.pendingCount, 1);
    root.addCard(1, { cardType: "p150b" });
    timers.advance(999);
    assert.equal(hardware.devices().length, 1);
    timers.advance(1);
    assert.equal(hardware.devices().length, 2);
    hardware.stop();
    assert.equal(timers.pendingCount, 0);
    root.addCard(2, { cardType: "p150c" });
    timers.advance(10_000);
    assert.equal(hardware.devices().length, 2, "no scan after stop()");
  } finally {
    root.remove();
  }
});

test("after a slow scan the next one waits 49 times its duration (at most 2% of a core)", () => {
  const root = new FakeRoot();
  try {
    root.addCard(0, { cardType: "n150" });
    root.writeKmdPids(0, ""); // no /proc walk: the scan is one step
    root.writeKmdPids(1, "");
    const manual = new ManualTimers();
    // Each scan (two clock readings) "takes" 50 ms.
    const { log } = capturingLogger();
    const hardware = new HardwareDevices({ log, devRoot: root.path, timers: steppingClock(manual, 50) });
    hardware.start();
    const cost = hardware.lastScanCost()!;
    assert.equal(cost.durationMs, 50);
    root.addCard(1, { cardType: "n150" });
    manual.advance(2000);
    assert.equal(hardware.devices().length, 1, "not rescanned after the 1000 ms interval");
    manual.advance(49 * 50 - 2000);
    assert.equal(hardware.devices().length, 2, "rescanned after 49 x 50 ms");
    hardware.stop();
  } finally {
    root.remove();
  }
});

test("with the real clock the timer keeps scanning until stopped", async () => {
  const root = new FakeRoot();
  const { log } = capturingLogger();
  const hardware = new HardwareDevices({ log, devRoot: root.path, scanIntervalMs: 10 });
  try {
    hardware.start();
    assert.deepEqual(hardware.devices(), []);
    root.addCard(3, { cardType: "p150a" });
    await waitFor(() => hardware.devices().length === 1, { what: "the timer's scan to find device 3" });
  } finally {
    hardware.stop();
    root.remove();
  }
});

test("bad options are refused with SERVER_INVALID_OPTION naming the option", () => {
  const { log } = capturingLogger();
  for (const [options, name] of [
    [{ scanIntervalMs: 0 }, "scanIntervalMs"],
    [{ scanIntervalMs: 1.5 }, "scanIntervalMs"],
    [{ maxDevices: -1 }, "maxDevices"],
    [{ maxDevices: 5000 }, "maxDevices"],
    [{ maxFdsPerScan: Number.NaN }, "maxFdsPerScan"],
  ] as const) {
    assert.throws(
      () => new HardwareDevices({ log, ...options }),
      (error: { code?: string; message?: string }) => {
        assert.equal(error.code, ServerErrorCode.INVALID_OPTION);
        assert.match(error.message ?? "", new RegExp(`hardware ${name} must be an integer from 1 to`));
        return true;
      },
    );
  }
});

test("a scan never throws: an unlistable root and a defect are each logged once", () => {
  const { log, warnings } = capturingLogger();
  const bad = new HardwareDevices({ log, devRoot: "/no\u0000where" });
  for (let i = 0; i < 3; i++) assert.deepEqual(bad.scanOnce(), []);
  assert.deepEqual(
    warnings.map((w) => w.problem),
    ["dev-list:ERR_INVALID_ARG_VALUE"],
  );
  // A caller's defect (not a path) fails inside the scan; the last result (none) stays.
  const defect = new HardwareDevices({ log, devRoot: 42 as unknown as string });
  for (let i = 0; i < 3; i++) assert.deepEqual(defect.scanOnce(), []);
  assert.deepEqual(
    warnings.map((w) => w.problem),
    ["dev-list:ERR_INVALID_ARG_VALUE", "scan-failed"],
  );
});

test("the periodic fd walk runs in slices of at most 4 ms, the event loop free between them", () => {
  const root = new FakeRoot();
  const held: number[] = [];
  try {
    root.addCard(0, { cardType: "n150" });
    // At least 20 steps of 64 fd links, whatever else runs on the host.
    for (let i = 0; i < 1300; i++) held.push(openSync(root.nodePath(0), "r"));
    const manual = new ManualTimers();
    const { log } = capturingLogger();
    const hardware = new HardwareDevices({ log, devRoot: root.path, timers: steppingClock(manual, 1) });
    hardware.start();
    assert.deepEqual(hardware.devices(), [], "one 4 ms slice does not finish the walk");
    assert.equal(manual.pendingCount, 1, "the rest is scheduled for the next turn");
    for (let turn = 0; turn < 10_000 && hardware.devices().length === 0; turn++) manual.advance(0);
    const [device] = hardware.devices();
    assert.deepEqual(
      device!.holders.map((h) => h.pid),
      [process.pid],
      "the sliced walk finds this process's fds",
    );
    const cost = hardware.lastScanCost()!;
    assert.ok(cost.slices >= 5, `slices: ${cost.slices}`);
    assert.ok(cost.fdsChecked >= 1300);
    // Each slice stops at its first step past 4 ms: with 1 ms per clock reading, 5 ms at most.
    assert.ok(cost.durationMs <= cost.slices * 5, JSON.stringify(cost));

    // stop() in the middle of a walk drops it.
    const stopped = new HardwareDevices({ log, devRoot: root.path, timers: steppingClock(manual, 1) });
    stopped.start();
    stopped.stop();
    manual.advance(10_000);
    assert.deepEqual(stopped.devices(), []);
    hardware.stop();
    assert.equal(manual.pendingCount, 0);
  } finally {
    for (const fd of held) closeSync(fd);
    root.remove();
  }
});
