// Issue 10, finding 3: a legacy monitor that sends QUERY frames and never reads the replies grew the
// server by 2.7 GB in 15 s. Against `allocwatch serve --legacy-socket` in its own process, a Python
// monitor (test/legacy/deaf_monitor.py) hammers QUERY for a few seconds without reading: the server
// stops reading it (its sends block), its RSS stays under the documented bound (docs/SECURITY.md), and
// it answers another monitor afterwards.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { firstLine } from "../support/child-lines.js";
import { repoRoot } from "../support/repo-files.js";
import { RawLegacyClient } from "./legacy-server.js";
import { request, TYPE } from "./wire.js";

/** The documented bound (docs/SECURITY.md, legacy socket): Node's own footprint plus small buffers. */
const SERVER_RSS_BOUND_BYTES = 256 * 1024 * 1024;
const HAMMER_SECONDS = 4;

const cliEntry = join(dirname(fileURLToPath(import.meta.url)), "../../src/cli/main.js");
const monitorScript = join(repoRoot(import.meta.url), "test/legacy/deaf_monitor.py");

function rssBytes(pid: number): number {
  const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return kib === null ? 0 : Number(kib[1]) * 1024;
}

test("a monitor that never reads its replies: the server's RSS stays bounded and it keeps answering", {
  timeout: 60_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "aw-deaf-"));
  const legacyPath = join(dir, "tt.sock");
  const server = spawn(
    process.execPath,
    [
      cliEntry,
      "serve",
      "--socket",
      join(dir, "n.sock"),
      "--http",
      "127.0.0.1:0",
      "--legacy-socket",
      legacyPath,
      "--quiet",
      "--no-history",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  t.after(async () => {
    if (server.exitCode === null) {
      const exited = new Promise((resolve) => server.once("exit", resolve));
      server.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await firstLine(server, /legacy tt-metal/);
  const baseline = rssBytes(server.pid!);

  const monitor = spawn("python3", [monitorScript, legacyPath, String(HAMMER_SECONDS)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const report = firstLine(monitor, /^\{/);
  let maxRss = baseline;
  let done = false;
  void report.finally(() => {
    done = true;
  });
  while (!done) {
    maxRss = Math.max(maxRss, rssBytes(server.pid!));
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const { sentBytes } = JSON.parse(await report) as { sentBytes: number };
  t.diagnostic(
    `monitor sent ${(sentBytes / 2 ** 20).toFixed(2)} MiB in ${HAMMER_SECONDS} s; server RSS ` +
      `${(baseline / 2 ** 20).toFixed(0)} MiB at start, ${(maxRss / 2 ** 20).toFixed(0)} MiB at most`,
  );
  assert.ok(maxRss < SERVER_RSS_BOUND_BYTES, `server RSS reached ${(maxRss / 2 ** 20).toFixed(0)} MiB`);
  // Once its unsent replies passed 64 KiB the server stopped reading it: the monitor's sends blocked.
  assert.ok(sentBytes < 16 * 2 ** 20, `the server took ${sentBytes} bytes from a monitor that never reads`);

  const other = await RawLegacyClient.connect(legacyPath);
  await other.write(
    request(144, { type: TYPE.QUERY, deviceId: 0, size: 0, bufferType: 0, pid: 0, bufferId: 0 }),
  );
  assert.equal((await other.read(144, 5000))[0], TYPE.RESPONSE);
  other.close();
});
