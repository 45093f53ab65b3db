// Who holds a device: a real child process opening a fake node (found through the real /proc/<pid>/fd),
// and tt-kmd's pids file, which is preferred where it exists.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseKmdPids } from "../../src/server/hardware/device-holders.js";
import { HardwareDevices } from "../../src/server/hardware/hardware-devices.js";
import { waitFor } from "../support/wait-for.js";
import { capturingLogger, FakeRoot, HOLDER_NAME, holdOpen } from "./fake-root.js";

function holdersOf(hardware: HardwareDevices, ordinal: number) {
  return hardware.scanOnce().find((device) => device.ordinal === ordinal)?.holders;
}

/** A pid no process can have: pids are below pid_max. */
function impossiblePid(): number {
  return Number(readFileSync("/proc/sys/kernel/pid_max", "utf8").trim());
}

test("a child holding device 1 is its holder (not device 0's), by pid and name, until it exits", async () => {
  const root = new FakeRoot();
  const { log, warnings } = capturingLogger();
  try {
    root.addCard(0, { cardType: "n150" });
    root.addCard(1, { cardType: "p150a" });
    const hardware = new HardwareDevices({ log, devRoot: root.path });
    const child = await holdOpen(root.nodePath(1));
    let released = false;
    try {
      const holders = await waitFor(
        () => {
          const found = holdersOf(hardware, 1);
          return found !== undefined && found.length > 0 ? found : undefined;
        },
        { what: "the child to be listed as holder of device 1" },
      );
      assert.deepEqual(holders, [{ pid: child.pid, name: HOLDER_NAME }]);
      const [zero, one] = hardware.devices();
      assert.deepEqual(zero!.holders, [], "device 0 is not held");
      assert.equal(one!.holdersSource, "fd-scan");
      assert.ok((hardware.lastScanCost()?.fdsChecked ?? 0) > 0, "the walk read fd links");
      await child.release();
      released = true;
      await waitFor(() => holdersOf(hardware, 1)?.length === 0, {
        what: "the exited child to leave device 1's holders",
        detail: () => JSON.stringify(hardware.devices()),
      });
    } finally {
      if (!released) await child.release();
    }
    assert.deepEqual(warnings, []);
  } finally {
    root.remove();
  }
});

test("tt-kmd's pids file is preferred: duplicates merged, a pid that does not exist dropped", async () => {
  const root = new FakeRoot();
  const { log, warnings } = capturingLogger();
  try {
    root.addCard(0, { cardType: "n150" });
    root.addCard(1, { cardType: "p150a" });
    const ownName = readFileSync(`/proc/${process.pid}/comm`, "latin1").trim();
    // The kernel lists one line per open fd: this process twice, plus one that is gone.
    root.writeKmdPids(1, `${process.pid}\n${impossiblePid()}\n${process.pid}\n`);
    root.writeKmdPids(0, "");
    const hardware = new HardwareDevices({ log, devRoot: root.path });
    const child = await holdOpen(root.nodePath(1));
    try {
      const [zero, one] = hardware.scanOnce();
      assert.equal(one!.holdersSource, "kmd");
      assert.deepEqual(
        one!.holders,
        [{ pid: process.pid, name: ownName }],
        "the child's fd is not looked for",
      );
      assert.equal(zero!.holdersSource, "kmd");
      assert.deepEqual(zero!.holders, []);
      assert.equal(hardware.lastScanCost()?.fdsChecked, 0, "every device has a pids file: no /proc walk");
      // Without the file (an older tt-kmd), the fd walk finds the child.
      root.writeKmdPids(1, undefined);
      const [, withoutFile] = hardware.scanOnce();
      assert.equal(withoutFile!.holdersSource, "fd-scan");
      assert.deepEqual(withoutFile!.holders, [{ pid: child.pid, name: HOLDER_NAME }]);
    } finally {
      await child.release();
    }
    assert.deepEqual(warnings, []);
  } finally {
    root.remove();
  }
});

test("pids file lines that are not pids are ignored with one warning; 0 lines silently", () => {
  assert.deepEqual(parseKmdPids("12\n\n 13 \n0\nabc\n-4\n99999999999\n12\n"), {
    pids: [12, 13, 12],
    badLines: 3,
  });
  const root = new FakeRoot();
  const { log, warnings } = capturingLogger();
  try {
    root.addCard(0, { cardType: "n150" });
    root.writeKmdPids(0, `${process.pid}\ngarbage\n`);
    const hardware = new HardwareDevices({ log, devRoot: root.path });
    for (let i = 0; i < 3; i++)
      assert.deepEqual(
        holdersOf(hardware, 0)?.map((h) => h.pid),
        [process.pid],
      );
    assert.deepEqual(
      warnings.map((w) => [w.problem, w.badLines]),
      [["pids-shape:0", 1]],
    );
  } finally {
    root.remove();
  }
});

test("the fd walk stops at its cap with one warning, and reports what it read", async () => {
  const root = new FakeRoot();
  const { log, warnings } = capturingLogger();
  try {
    root.addCard(0, { cardType: "n150" });
    const hardware = new HardwareDevices({ log, devRoot: root.path, maxFdsPerScan: 1 });
    for (let i = 0; i < 3; i++) {
      hardware.scanOnce();
      assert.equal(hardware.lastScanCost()?.fdsChecked, 1);
    }
    assert.deepEqual(
      warnings.map((w) => [w.problem, w.maxFdsPerScan]),
      [["fd-scan-truncated", 1]],
    );
    const uncapped = new HardwareDevices({ log, devRoot: root.path });
    uncapped.scanOnce();
    const cost = uncapped.lastScanCost()!;
    assert.ok(cost.fdsChecked > 1 && cost.processesSeen >= 1, JSON.stringify(cost));
    assert.equal(warnings.length, 1, "the uncapped walk finished without a warning");
  } finally {
    root.remove();
  }
});
