// The Python client (clients/python) end to end: its churn example against a real server ends exact with
// no anomaly, its HTTP reader sees the churn's process, it exits 0 without a server, and it survives a
// server restart mid-run. Skipped, with the reason, where python3 (>= 3.9) is missing.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import type { SummaryResponse } from "../../src/server/api-types.js";
import { startTestServer, tempSocketPath } from "../server/test-server.js";
import { repoRoot } from "../support/repo-files.js";
import { type ServerChild, serveChild, stopChild } from "../support/serve-child.js";
import { waitFor } from "../support/wait-for.js";
import { expectExact, nonZero, startChurn } from "./churn-harness.js";

const ROOT = repoRoot(import.meta.url);
const PACKAGE_DIR = join(ROOT, "clients", "python");
const CHURN = ["python3", join(PACKAGE_DIR, "examples", "churn.py")];

function pythonMissing(): string | false {
  const probe = spawnSync("python3", ["-c", "import sys; sys.exit(sys.version_info < (3, 9))"]);
  if (probe.error !== undefined) return `python3 is not installed (${probe.error.message})`;
  if (probe.status !== 0) return "python3 is older than 3.9";
  return false;
}
const skip = pythonMissing();

test("python churn: 4 threads x 2 devices end exact with no anomaly; the reader sees the process", {
  skip,
}, async () => {
  const server = await startTestServer();
  try {
    const churn = startChurn(CHURN, {
      socket: server.socketPath,
      threads: 4,
      ops: 40_000,
      devices: 2,
      // Long enough for the reader below on a loaded machine; the churn then closes and exits by itself.
      holdMs: 8_000,
      extra: ["--seed", "11"],
    });
    try {
      const report = await churn.report;
      assert.ok(report.events > 39_000, `events ${report.events}`);
      await expectExact(() => server.get("/api/v1/summary").then((r) => r.body as SummaryResponse), report);

      // The HTTP reader, as a user would run it, while the churn holds its live set.
      const script = [
        "import json, sys",
        `sys.path.insert(0, ${JSON.stringify(PACKAGE_DIR)})`,
        "import allocwatch",
        `p = allocwatch.summary(${JSON.stringify(server.httpUrl)}).process(${report.pid})`,
        "print(json.dumps(None if p is None else {'source': p.source, 'state': p.state,",
        "  'live': {str(d.id): {k: v for k, v in d.used.items() if v} for d in p.devices}}))",
      ].join("\n");
      const { stdout } = await promisify(execFile)("python3", ["-c", script], { timeout: 30_000 });
      assert.deepEqual(JSON.parse(stdout), {
        source: "native",
        state: "connected",
        live: nonZero(report.live),
      });

      // After its hold the churn closes the client (GOODBYE: the server releases the session at once).
      const exit = await churn.exit;
      assert.equal(exit.code, 0, exit.stderr);
      await waitFor(
        async () => {
          const summary = (await server.get("/api/v1/summary")).body as SummaryResponse;
          return !summary.processes.some((p) => p.pid === report.pid);
        },
        { what: "the server to release the churn's session after GOODBYE" },
      );
    } finally {
      if (churn.child.exitCode === null) churn.child.kill("SIGTERM");
      await churn.exit;
    }
  } finally {
    await server.stop();
  }
});

test("python churn with a tiny queue drops events and its snapshots still end exact", { skip }, async () => {
  const server = await startTestServer();
  try {
    const churn = startChurn(CHURN, {
      socket: server.socketPath,
      threads: 4,
      ops: 20_000,
      devices: 2,
      holdMs: 60_000,
      extra: ["--seed", "13", "--queue-events", "32", "--verbose"],
    });
    try {
      const report = await churn.report;
      const summary = await expectExact(() => server.get("/api/v1/summary").then((r) => r.body), report);
      assert.ok(summary.server.snapshotsApplied > 0, "the drops were healed by snapshots");
    } finally {
      churn.child.kill("SIGTERM");
      const exit = await churn.exit;
      assert.match(exit.stderr, /dropped [1-9]\d*, snapshots [1-9]/, exit.stderr);
    }
  } finally {
    await server.stop();
  }
});

test("python churn with no server exits 0 and still prints its report", { skip }, async () => {
  const { dir, path } = tempSocketPath();
  try {
    const churn = startChurn(CHURN, { socket: path, threads: 4, ops: 5_000, devices: 2, holdMs: 0 });
    const report = await churn.report;
    assert.equal(report.events > 0, true);
    assert.deepEqual(Object.keys(report.live).sort(), ["0", "1"]);
    const exit = await churn.exit;
    assert.equal(exit.code, 0, exit.stderr);
    assert.equal(exit.stderr, "", "nothing on stderr: no traceback for a missing server");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("python HTTP reader: no server is a ServerUnavailable with a clear message, no traceback", {
  skip,
}, async () => {
  const script = [
    "import sys",
    `sys.path.insert(0, ${JSON.stringify(PACKAGE_DIR)})`,
    "import allocwatch",
    "try:",
    "    allocwatch.summary('http://127.0.0.1:1')",
    "except allocwatch.ServerUnavailable as e:",
    "    print(e.code, e)",
  ].join("\n");
  const { stdout } = await promisify(execFile)("python3", ["-c", script], { timeout: 30_000 });
  assert.match(
    stdout,
    /^AWC_SERVER_UNAVAILABLE no allocwatch server at http:\/\/127\.0\.0\.1:1\/api\/v1\/summary/,
  );
});

test("python churn across a server restart mid-run ends exact on the new server", { skip }, async () => {
  const { dir, path } = tempSocketPath();
  let first: ServerChild | undefined;
  let second: ServerChild | undefined;
  try {
    first = await serveChild(path);
    const firstServer = first;
    const churn = startChurn(CHURN, {
      socket: path,
      threads: 4,
      ops: 400_000,
      devices: 2,
      holdMs: 60_000,
      extra: ["--seed", "12"],
    });
    try {
      // Restart once the churn is reporting to the first server, while it is still churning.
      let seen = false;
      for (const deadline = Date.now() + 20_000; !seen && Date.now() < deadline; ) {
        const summary = await firstServer.summary();
        seen = summary.processes.some((p) => p.pid === churn.child.pid && p.devices.length > 0);
      }
      assert.ok(seen, "the churn reported to the first server");
      await stopChild(first);
      second = await serveChild(path);
      const secondServer = second;
      const report = await churn.report;
      await expectExact(() => secondServer.summary(), report, 30_000);
    } finally {
      churn.child.kill("SIGTERM");
      await churn.exit;
    }
  } finally {
    if (first !== undefined) await stopChild(first);
    if (second !== undefined) await stopChild(second);
    rmSync(dir, { recursive: true, force: true });
  }
});
