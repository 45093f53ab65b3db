// What the scanner makes of tt-kmd's device nodes and sysfs attributes (a fake tree in a temp dir).
import assert from "node:assert/strict";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BLACKHOLE_P150, WORMHOLE_B0_N150, WORMHOLE_B0_N300 } from "../../src/device/presets.js";
import { cardTypeFacts, KNOWN_CARD_TYPES } from "../../src/server/hardware/card-type.js";
import { HardwareDevices } from "../../src/server/hardware/hardware-devices.js";
import { capturingLogger, FakeRoot } from "./fake-root.js";

function withRoot(body: (root: FakeRoot) => void | Promise<void>) {
  return async () => {
    const root = new FakeRoot();
    try {
      await body(root);
    } finally {
      root.remove();
    }
  };
}

test(
  "two cards (n150, p150a) give two devices with their presets, serials and asic ids",
  withRoot((root) => {
    root.addCard(0, { cardType: "n150", serial: "100018611902010", asicId: "7f0a1b2c3d4e5f60" });
    root.addCard(1, { cardType: "p150a", serial: "0000046131924013", asicId: "0123456789abcdef" });
    const { log, warnings } = capturingLogger();
    const devices = new HardwareDevices({ log, devRoot: root.path }).scanOnce();
    assert.equal(devices.length, 2);
    const [wormhole, blackhole] = devices;
    assert.equal(wormhole!.ordinal, 0);
    assert.equal(wormhole!.cardType, "n150");
    assert.equal(wormhole!.preset, WORMHOLE_B0_N150);
    assert.equal(wormhole!.architecture, "WORMHOLE_B0");
    assert.equal(wormhole!.serial, "100018611902010");
    assert.equal(wormhole!.asicId, "7f0a1b2c3d4e5f60");
    assert.equal(blackhole!.ordinal, 1);
    assert.equal(blackhole!.cardType, "p150a");
    assert.equal(blackhole!.preset, BLACKHOLE_P150);
    assert.equal(blackhole!.architecture, "BLACKHOLE");
    assert.equal(blackhole!.serial, "0000046131924013");
    assert.equal(blackhole!.asicId, "0123456789abcdef");
    for (const device of devices) {
      assert.deepEqual(device.holders, []);
      assert.equal(device.holdersSource, "fd-scan");
    }
    assert.deepEqual(warnings, []);
  }),
);

test("every kernel card type has its architecture; presets only where grounded", () => {
  const expected: Record<string, [string, string | undefined]> = {
    n150: ["WORMHOLE_B0", WORMHOLE_B0_N150.name],
    n300: ["WORMHOLE_B0", WORMHOLE_B0_N300.name],
    "galaxy-wormhole": ["WORMHOLE_B0", undefined],
    p100: ["BLACKHOLE", undefined],
    p100a: ["BLACKHOLE", undefined],
    p150a: ["BLACKHOLE", BLACKHOLE_P150.name],
    p150b: ["BLACKHOLE", BLACKHOLE_P150.name],
    p150c: ["BLACKHOLE", BLACKHOLE_P150.name],
    p300a: ["BLACKHOLE", undefined],
    p300b: ["BLACKHOLE", undefined],
    p300c: ["BLACKHOLE", undefined],
    "galaxy-blackhole": ["BLACKHOLE", undefined],
  };
  assert.deepEqual([...KNOWN_CARD_TYPES].sort(), Object.keys(expected).sort());
  for (const [cardType, [architecture, preset]] of Object.entries(expected)) {
    const facts = cardTypeFacts(cardType);
    assert.equal(facts.architecture, architecture, cardType);
    assert.equal(facts.preset?.name, preset, cardType);
  }
  assert.deepEqual(cardTypeFacts("unknown"), { architecture: "unknown", preset: undefined });
  assert.deepEqual(cardTypeFacts("unknown", "0x401e"), { architecture: "WORMHOLE_B0", preset: undefined });
  assert.deepEqual(cardTypeFacts("unknown", "0xB140"), { architecture: "BLACKHOLE", preset: undefined });
  assert.deepEqual(cardTypeFacts("unknown", "0xfaca"), { architecture: "unknown", preset: undefined });
});

test(
  "missing sysfs attributes: card type unknown, no serial or asic id, architecture from the PCI id if any",
  withRoot((root) => {
    root.addCard(0); // no attributes at all (and no sysfs telemetry)
    root.addCard(1, { pciDeviceId: "0xb140", asicId: "0000000000000001" });
    mkdirSync(join(root.path, "dev", "tenstorrent"), { recursive: true });
    writeFileSync(root.nodePath(2), ""); // a node without any sysfs directory
    const { log, warnings } = capturingLogger();
    const devices = new HardwareDevices({ log, devRoot: root.path }).scanOnce();
    assert.deepEqual(
      devices.map((d) => [d.ordinal, d.cardType, d.architecture, d.preset, d.serial, d.asicId]),
      [
        [0, "unknown", "unknown", undefined, undefined, undefined],
        [1, "unknown", "BLACKHOLE", undefined, undefined, "0000000000000001"],
        [2, "unknown", "unknown", undefined, undefined, undefined],
      ],
    );
    assert.ok(!("serial" in devices[0]!), "an absent attribute is absent, not undefined-valued");
    assert.deepEqual(warnings, [], "absent attributes are normal");
  }),
);

test(
  "an unknown card type keeps the kernel's word, with no preset and architecture unknown",
  withRoot((root) => {
    root.addCard(0, { cardType: "unknown", serial: "0000000000000007" });
    root.addCard(1, { cardType: "x9000" });
    const { log, warnings } = capturingLogger();
    const devices = new HardwareDevices({ log, devRoot: root.path }).scanOnce();
    assert.deepEqual(
      devices.map((d) => [d.cardType, d.architecture, d.preset]),
      [
        ["unknown", "unknown", undefined],
        ["x9000", "unknown", undefined],
      ],
    );
    assert.deepEqual(warnings, []);
  }),
);

test(
  "attributes of the wrong form are dropped with one warning each, however many scans",
  withRoot((root) => {
    root.addCard(0, { cardType: "\u001b[31mred", serial: "not hex", asicId: "0123456789abcdef0" });
    const { log, warnings } = capturingLogger();
    const hardware = new HardwareDevices({ log, devRoot: root.path });
    for (let i = 0; i < 3; i++) {
      const [device] = hardware.scanOnce();
      assert.equal(device!.cardType, "unknown");
      assert.equal(device!.serial, undefined);
      assert.equal(device!.asicId, undefined, "17 hex digits is not a 64-bit id");
    }
    assert.deepEqual(warnings.map((w) => w.problem).sort(), [
      "sysfs-shape:0:tt_asic_id",
      "sysfs-shape:0:tt_card_type",
      "sysfs-shape:0:tt_serial",
    ]);
  }),
);

test(
  "non-numeric entries, by-id/ and leading zeros are ignored; ordinals sort numerically",
  withRoot((root) => {
    root.addCard(10, { cardType: "n150" });
    root.addCard(2, { cardType: "n300" });
    const dev = join(root.path, "dev", "tenstorrent");
    mkdirSync(join(dev, "by-id"));
    writeFileSync(join(dev, "by-id", "wormhole-0123"), "");
    mkdirSync(join(dev, "7")); // a directory, not a node
    for (const name of ["07", "1a", "-1", "3.0", "README", " 4"]) writeFileSync(join(dev, name), "");
    const { log, warnings } = capturingLogger();
    const devices = new HardwareDevices({ log, devRoot: root.path }).scanOnce();
    assert.deepEqual(
      devices.map((d) => [d.ordinal, d.preset?.name]),
      [
        [2, "wormhole_b0_n300"],
        [10, "wormhole_b0_n150"],
      ],
    );
    assert.deepEqual(warnings, []);
  }),
);

test(
  "no /dev/tenstorrent at all: zero devices and not one warning, scan after scan",
  withRoot((root) => {
    const { log, warnings } = capturingLogger();
    const hardware = new HardwareDevices({ log, devRoot: root.path });
    for (let i = 0; i < 5; i++) assert.deepEqual(hardware.scanOnce(), []);
    // /dev/tenstorrent as a plain file (ENOTDIR) is the same "no devices".
    mkdirSync(join(root.path, "dev"));
    writeFileSync(join(root.path, "dev", "tenstorrent"), "");
    assert.deepEqual(hardware.scanOnce(), []);
    assert.deepEqual(warnings, []);
    assert.equal(hardware.lastScanCost()?.fdsChecked, 0, "no device: no /proc walk");
  }),
);

test(
  "more devices than the cap: the lowest ordinals are kept and one warning is logged",
  withRoot((root) => {
    for (let ordinal = 0; ordinal < 70; ordinal++) root.addCard(ordinal, { cardType: "p150b" });
    const { log, warnings } = capturingLogger();
    const hardware = new HardwareDevices({ log, devRoot: root.path });
    for (let i = 0; i < 3; i++) {
      const devices = hardware.scanOnce();
      assert.equal(devices.length, 64);
      assert.deepEqual(
        devices.map((d) => d.ordinal),
        Array.from({ length: 64 }, (_, i) => i),
      );
    }
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.problem, "too-many-devices");
    assert.equal(warnings[0]!.found, 70);
    assert.equal(warnings[0]!.maxDevices, 64);
    const small = new HardwareDevices({ log, devRoot: root.path, maxDevices: 3 });
    assert.deepEqual(
      small.scanOnce().map((d) => d.ordinal),
      [0, 1, 2],
    );
  }),
);

test(
  "a replaced node (another inode) has its attributes read again; an unchanged one keeps them",
  withRoot((root) => {
    root.addCard(0, { cardType: "n150", serial: "0000000000000001" });
    const { log } = capturingLogger();
    const hardware = new HardwareDevices({ log, devRoot: root.path });
    assert.equal(hardware.scanOnce()[0]!.serial, "0000000000000001");
    const sysfs = join(root.path, "sys", "class", "tenstorrent", "tenstorrent!0");
    writeFileSync(join(sysfs, "tt_serial"), "0000000000000002\n");
    assert.equal(hardware.scanOnce()[0]!.serial, "0000000000000001", "static attributes are not re-read");
    // A new node at the same path (created before the old one goes, so it cannot reuse its inode).
    writeFileSync(`${root.nodePath(0)}.new`, "");
    renameSync(`${root.nodePath(0)}.new`, root.nodePath(0));
    const [device] = hardware.scanOnce();
    assert.equal(device!.serial, "0000000000000002");
  }),
);

test(
  "a card type that appears later is picked up (an unknown one is read again every scan)",
  withRoot((root) => {
    root.addCard(0);
    const { log } = capturingLogger();
    const hardware = new HardwareDevices({ log, devRoot: root.path });
    assert.equal(hardware.scanOnce()[0]!.cardType, "unknown");
    const sysfs = join(root.path, "sys", "class", "tenstorrent", "tenstorrent!0");
    writeFileSync(join(sysfs, "tt_card_type"), "p300c\n");
    const [device] = hardware.scanOnce();
    assert.equal(device!.cardType, "p300c");
    assert.equal(device!.architecture, "BLACKHOLE");
  }),
);
