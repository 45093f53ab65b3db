// `allocwatch serve --max-live-allocations` and `--max-live-allocations-per-session`: --help names each
// with its default and the memory it bounds, an impossible pair exits 2 (a usage error) with the fix, 0
// is refused by the flag parser, and given values are the limits the running server reports and applies.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { encodeEvents } from "../../src/protocol/encode-frame.js";
import { serveChild, stopChild } from "../support/serve-child.js";
import { waitFor } from "../support/wait-for.js";
import { RawClient, testEvent } from "./raw-client.js";
import { tempSocketPath } from "./test-server.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

test("serve --help lists both live-allocation limits with their defaults", () => {
  const help = spawnSync(process.execPath, [cli, "serve", "--help"], { encoding: "utf8" });
  assert.equal(help.status, 0, help.stderr);
  const text = help.stdout.replace(/\s+/g, " ");
  assert.match(
    text,
    /--max-live-allocations <n> .*\(default 8388608: ~480 MiB of server memory at ~60 bytes each\)/,
  );
  assert.match(
    text,
    /--max-live-allocations-per-session <n> .*\(default 2097152: ~120 MiB; at most --max-live-allocations\)/,
  );
});

test("serve refuses a per-session limit above the server-wide one, with exit 2 and the fix", () => {
  const { dir, path } = tempSocketPath();
  const run = spawnSync(
    process.execPath,
    [
      cli,
      "serve",
      "--socket",
      path,
      "--http",
      "127.0.0.1:0",
      "--no-history",
      "--max-live-allocations",
      "10",
      "--max-live-allocations-per-session",
      "11",
    ],
    { encoding: "utf8" },
  );
  rmSync(dir, { recursive: true, force: true });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /--max-live-allocations-per-session\) 11 is above maxLiveAllocations .*lower it/);
});

test("serve refuses --max-live-allocations 0 before starting", () => {
  const { dir, path } = tempSocketPath();
  const run = spawnSync(process.execPath, [cli, "serve", "--socket", path, "--max-live-allocations", "0"], {
    encoding: "utf8",
  });
  rmSync(dir, { recursive: true, force: true });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /--max-live-allocations.*whole number >= 1/);
});

test("serve --max-live-allocations-per-session is the limit the server applies and reports", async (t) => {
  const { dir, path } = tempSocketPath();
  const server = await serveChild(path, ["--max-live-allocations-per-session", "3"]);
  t.after(async () => {
    await stopChild(server);
    rmSync(dir, { recursive: true, force: true });
  });
  const summary = () => server.summary();
  const client = await RawClient.handshake(path);
  client.send(encodeEvents([1, 2, 3, 4, 5].map((seq) => testEvent(seq))));
  await waitFor(async () => (await summary()).server.allocationsRefused === 2, { what: "two refusals" });
  const s = await summary();
  assert.equal(s.server.maxLiveAllocationsPerSession, 3);
  assert.equal(s.server.maxLiveAllocations, 8_388_608);
  assert.deepEqual(
    [s.processes[0]!.devices[0]!.allocations, s.processes[0]!.devices[0]!.overLimit],
    [3, true],
  );
  client.destroy();
});
