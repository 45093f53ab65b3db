import assert from "node:assert/strict";
import { test } from "node:test";
import { BLACKHOLE_P150, WORMHOLE_B0_N150 } from "../../src/device/presets.js";
import { renderSmi } from "../../src/monitor/smi/render.js";
import type { DeviceSummary, SummaryResponse } from "../../src/server/api-types.js";
import { FakeRoot, HOLDER_NAME, holdOpen } from "../hardware/fake-root.js";
import { startTestServer } from "../server/test-server.js";
import { waitFor } from "../support/wait-for.js";

test("serve with a fake /dev/tenstorrent root: two cards are two devices with their presets, and a child holding one is its holder", async () => {
  const root = new FakeRoot();
  root.addCard(0, { cardType: "n150", serial: "0000000000000001", asicId: "00000000000000a1" });
  root.addCard(1, { cardType: "p150a", serial: "0000000000000002", asicId: "00000000000000b2" });
  const server = await startTestServer({ hardware: { devRoot: root.path, scanIntervalMs: 20 } });
  const child = await holdOpen(root.nodePath(1));
  let released = false;
  try {
    const summary = await waitFor(
      async () => {
        const body = (await server.get("/api/v1/summary")).body as SummaryResponse;
        return body.devices.find((d) => d.id === 1)?.holders.length === 1 ? body : undefined;
      },
      { what: "the child to be listed as holder of device 1" },
    );
    const [zero, one] = summary.devices as [DeviceSummary, DeviceSummary];
    assert.deepEqual(
      summary.devices.map((d) => [d.id, d.card, d.name, d.architecture, d.sources, d.asicId]),
      [
        [0, "n150", WORMHOLE_B0_N150.name, "WORMHOLE_B0", ["hardware"], "00000000000000a1"],
        [1, "p150a", BLACKHOLE_P150.name, "BLACKHOLE", ["hardware"], "00000000000000b2"],
      ],
    );
    assert.ok(zero.memory.DRAM.total > 0 && one.memory.L1.total > 0, "capacities from the presets");
    assert.deepEqual(zero.holders, []);
    assert.deepEqual(one.holders, [{ pid: child.pid, name: HOLDER_NAME, reporting: false }]);
    assert.match(
      renderSmi(summary),
      new RegExp(
        `^Device 1 \\(p150a\\) held by: ${child.pid} ${HOLDER_NAME} \\(holds the device, not reporting\\)$`,
        "m",
      ),
    );
    await child.release();
    released = true;
    await waitFor(
      async () =>
        ((await server.get("/api/v1/summary")).body as SummaryResponse).devices[1]?.holders.length === 0,
      { what: "the exited child to leave the holders" },
    );
  } finally {
    if (!released) await child.release();
    await server.stop();
    root.remove();
  }
});

test("without `hardware` the server reads nothing of the host: no devices until a client reports", async () => {
  const root = new FakeRoot();
  root.addCard(0, { cardType: "n150" });
  const server = await startTestServer();
  try {
    const { body } = await server.get("/api/v1/summary");
    assert.deepEqual(body.devices, []);
    assert.equal(server.hardware, undefined);
  } finally {
    await server.stop();
    root.remove();
  }
});
