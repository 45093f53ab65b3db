// `allocwatch serve` reads the host by default: tt-metal's shared-memory regions and the cards of the
// kernel driver, each with a flag to point it elsewhere and one to turn it off.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { test } from "node:test";
import type { SummaryResponse } from "../../src/server/api-types.js";
import { getJson, runCli } from "../e2e/harness.js";
import { FakeRoot } from "../hardware/fake-root.js";
import { tempSocketPath } from "../server/test-server.js";
import { waitFor } from "../support/wait-for.js";
import { tempDir } from "../tt-shm/fixture.js";
import { writeRegionFile } from "../tt-shm/region-writer.js";

test("serve --tt-shm DIR --dev-root ROOT: the region and the card show without any client, and the banner says where", async (t) => {
  const shm = tempDir(t);
  writeRegionFile(shm, { layout: 4, asicId: 42n, deviceId: 1, totals: { DRAM: 1024 } });
  const root = new FakeRoot();
  t.after(() => root.remove());
  root.addCard(0, { cardType: "n150" });
  const { dir, path } = tempSocketPath();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(
    process.execPath,
    [
      ...[new URL("../../src/cli/main.js", import.meta.url).pathname, "serve"],
      ...[
        "--socket",
        path,
        "--http",
        "127.0.0.1:0",
        "--quiet",
        "--no-history",
        "--tt-shm",
        shm,
        "--dev-root",
        root.path,
      ],
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    out += d;
  });
  try {
    const url = await waitFor(() => /HTTP API\s+(http:\/\/\S+)\/api\/v1\/summary/.exec(out)?.[1], {
      what: "serve to print its HTTP API address",
      detail: () => out,
    });
    assert.match(out, new RegExp(`tt-metal counters\\s+${shm}/tt_device_\\*_memory`));
    assert.match(out, new RegExp(`Tenstorrent cards\\s+${root.path}/dev/tenstorrent`));
    const summary = await waitFor(
      async () => {
        const body = await getJson<SummaryResponse>(`${url}/api/v1/summary`);
        return body.devices.length === 2 ? body : undefined;
      },
      { what: "the card and the region to show" },
    );
    assert.deepEqual(
      summary.devices.map((d) => [d.id, d.sources, d.memory.DRAM.used]),
      [
        [0, ["hardware"], 0],
        [1, ["tt-shm"], 1024],
      ],
    );
  } finally {
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  }
});

test("serve refuses tuning a host reader it was told to turn off, and a scan period out of range", async () => {
  // Exit 2: the options contradict or leave a range (the server's own check); 1: commander's usage error.
  const cases: [string[], RegExp, number][] = [
    [["--no-tt-shm", "--tt-shm-interval-ms", "50"], /--tt-shm-interval-ms tunes .*drop --no-tt-shm/, 2],
    [
      ["--no-hardware", "--dev-root", "/tmp"],
      /--dev-root and --hardware-interval-ms tune .*drop --no-hardware/,
      2,
    ],
    [["--tt-shm-interval-ms", "5"], /--tt-shm-interval-ms.*from 10 to 3600000/, 2],
    [["--hardware-interval-ms", "0"], /--hardware-interval-ms.*whole number >= 1/, 1],
  ];
  for (const [flags, message, expected] of cases) {
    const { dir, path } = tempSocketPath();
    const { code, stderr } = await runCli(["serve", "--socket", path, "--http", "127.0.0.1:0", ...flags]);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, expected, `${flags.join(" ")}: exit code`);
    assert.match(stderr, message, flags.join(" "));
  }
});

test("serve --help explains the host readers and how to turn them off", async () => {
  const { code, stdout } = await runCli(["serve", "--help"]);
  assert.equal(code, 0);
  for (const flag of [
    "--tt-shm [dir]",
    "--no-tt-shm",
    "--tt-shm-interval-ms",
    "--dev-root",
    "--no-hardware",
  ]) {
    assert.ok(stdout.includes(flag), `${flag} in --help`);
  }
});
