// `allocwatch serve --ingest-threads`: in --help; refused when it cannot be (before starting); a running
// server with 2 threads says so in its summary and applies a client's events; auto is one fewer than the
// cores; and where peer credentials are off the server ingests on one thread rather than mix a process's
// connections over shards.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { encodeEvents } from "../../../src/protocol/encode-frame.js";
import { resolveServerOptions } from "../../../src/server/options.js";
import { serveChild, stopChild } from "../../support/serve-child.js";
import { waitFor } from "../../support/wait-for.js";
import { RawClient, testEvent } from "../raw-client.js";
import { startTestServer, tempSocketPath, WITHOUT_PEER_CREDENTIALS } from "../test-server.js";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "src", "cli", "main.js");

test("serve --help explains --ingest-threads with its default", () => {
  const help = spawnSync(process.execPath, [cli, "serve", "--help"], { encoding: "utf8" });
  assert.equal(help.status, 0, help.stderr);
  assert.match(
    help.stdout.replace(/\s+/g, " "),
    /--ingest-threads <n\|auto> .*auto: one fewer than the cores.*\(default 1, at most 64\)/,
  );
});

test("serve refuses 0, a word and 65 ingest threads before starting", () => {
  for (const [value, message] of [
    ["0", /--ingest-threads.*whole number >= 1, or auto/],
    ["many", /--ingest-threads.*whole number >= 1, or auto/],
    ["65", /ingestThreads \(--ingest-threads\) must be at most 64/],
  ] as const) {
    const { dir, path } = tempSocketPath();
    const run = spawnSync(process.execPath, [cli, "serve", "--socket", path, `--ingest-threads=${value}`], {
      encoding: "utf8",
    });
    rmSync(dir, { recursive: true, force: true });
    assert.notEqual(run.status, 0, `--ingest-threads=${value} was accepted`);
    assert.match(run.stderr, message);
  }
});

test("auto is one fewer than the cores, at least 1", () => {
  const resolved = resolveServerOptions({ socketPath: "/tmp/x.sock", ingestThreads: "auto" });
  assert.equal(resolved.ingestThreads, Math.max(1, availableParallelism() - 1));
});

test("serve --ingest-threads 2 runs two ingest threads and applies a client's events", async (t) => {
  const { dir, path } = tempSocketPath();
  const server = await serveChild(path, ["--ingest-threads", "2"]);
  t.after(async () => {
    await stopChild(server);
    rmSync(dir, { recursive: true, force: true });
  });
  const client = await RawClient.handshake(path);
  t.after(() => client.destroy());
  client.send(
    encodeEvents([testEvent(1), testEvent(2), { ...testEvent(3, 0, 2), allocationId: 1, address: 4096 }]),
  );
  await waitFor(async () => (await server.summary()).server.eventsApplied === 3, {
    what: "3 events applied",
  });
  const summary = await server.summary();
  assert.equal(summary.server.ingestThreads, 2);
  assert.equal(summary.devices.find((d) => d.id === 0)?.memory.DRAM.used, 4096);
  assert.equal(summary.processes[0]?.connections, 1);
  assert.equal(summary.anomalies.total, 0);
});

test("without peer credentials the server ingests on one thread and warns", async (t) => {
  const lines: string[] = [];
  const logger = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
  const server = await startTestServer({
    ingestThreads: 3,
    peerCredentials: WITHOUT_PEER_CREDENTIALS,
    logger,
  });
  t.after(() => server.stop());
  assert.equal(server.queries.summary().server.ingestThreads, 1);
  assert.ok(
    lines.some((l) => /--ingest-threads needs peer credentials/.test(l)),
    `no warning in ${lines.join("")}`,
  );
});
