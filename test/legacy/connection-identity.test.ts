// Issue 10, finding 2: the connection is the identity. A process that exited before the server read its
// frames used to have every frame refused as INVALID_PID; now its frames are applied to the session of
// the connection's peer (the kernel's word, read at accept) and released once the process is gone. A
// frame naming another process is refused (LEGACY_PID_MISMATCH); one naming a thread of the peer counts
// for the peer. Without peer credentials the frame's pid is taken as it is (a documented gap).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import type { ReleaseReason } from "../../src/server/session-table.js";
import { WITHOUT_PEER_CREDENTIALS } from "../server/test-server.js";
import { repoRoot } from "../support/repo-files.js";
import { waitFor } from "../support/wait-for.js";
import { startLegacyServer } from "./legacy-server.js";
import { RESPONSE_OFFSETS, request, TYPE, u64 } from "./wire.js";

const script = join(repoRoot(import.meta.url), "test/legacy/short_lived_client.py");
const ALLOCS = 20;

/**
 * Runs the client to its end while this process's event loop is blocked: the server (in this process)
 * cannot read a byte before the client is gone.
 */
function runToExit(socketPath: string, ...args: string[]): number {
  const run = spawnSync("python3", [script, socketPath, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(run.status, 0, `client failed: ${run.error ?? run.signal}`);
  return Number(run.stdout.trim());
}

test("a process that exited before its frames were read: applied, then released, no INVALID_PID", async (t) => {
  const server = await startLegacyServer({ frame: 144 });
  t.after(() => server.stop());
  const released: { pid: number; reason: ReleaseReason; allocations: number }[] = [];
  server.sessions.listen({
    released: (s, reason, allocations) => released.push({ pid: s.pid, reason, allocations }),
  });
  const pid = runToExit(server.legacyPath, "exit", String(ALLOCS));
  const release = await waitFor(() => released.find((r) => r.pid === pid), {
    what: `the session of the exited pid ${pid} to be released`,
  });
  assert.deepEqual(release, { pid, reason: "process-exited", allocations: ALLOCS });
  const anomalies = await server.anomalies();
  assert.equal(anomalies.byKind["INVALID_PID"], undefined);
  assert.equal(anomalies.total, 0);
});

test("a gone process whose connection is still open shows with its bytes, then is released when it closes", async (t) => {
  // A long sweep: the reaper's backstop must not release it while the test looks; the close does.
  const server = await startLegacyServer({ frame: 144 }, { sweepIntervalMs: 60_000 });
  const releaseFile = join(server.legacyPath, "..", "release");
  t.after(async () => {
    if (!existsSync(releaseFile)) writeFileSync(releaseFile, "");
    await server.stop();
  });
  const pid = runToExit(server.legacyPath, "hold", String(ALLOCS), releaseFile);
  const shown = await waitFor(
    async () => (await server.summary()).processes.find((p) => p.pid === pid && p.devices.length > 0),
    { what: `pid ${pid} to be shown with its bytes` },
  );
  assert.equal(shown.devices[0]!.used["DRAM"], ALLOCS * 1000);
  assert.equal(shown.devices[0]!.allocations, ALLOCS);
  assert.equal((await server.anomalies()).byKind["INVALID_PID"], undefined);

  writeFileSync(releaseFile, ""); // the holder closes the connection
  await waitFor(
    async () => {
      const summary = await server.summary();
      return (
        !summary.processes.some((p) => p.pid === pid) &&
        summary.devices.every((d) => Object.values(d.memory).every((m) => m.used === 0))
      );
    },
    { what: `the memory of the gone pid ${pid} to be released` },
  );
});

test("frames naming another process are refused (LEGACY_PID_MISMATCH); a thread of the peer counts", async (t) => {
  const server = await startLegacyServer({ frame: 144 });
  t.after(() => server.stop());
  const client = spawn("python3", [script, server.legacyPath, "names"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => client.once("exit", resolve));
  const line = await new Promise<string>((resolve) =>
    createInterface({ input: client.stdout! }).once("line", resolve),
  );
  const report = JSON.parse(line) as { pid: number; tid: number; parent: number; dram: number };
  assert.notEqual(report.tid, report.pid, "the thread has an id of its own");
  assert.equal(report.parent, process.pid, "its parent is this test process: alive, and another process");
  assert.equal(report.dram, 1000 + 2000, "its own frame and its thread's applied; its parent's refused");
  const summary = await server.summary();
  assert.equal(summary.processes.find((p) => p.pid === report.pid)?.devices[0]?.used["DRAM"], 3000);
  assert.equal(
    summary.processes.some((p) => p.pid === report.parent),
    false,
    "no session for the named pid",
  );
  assert.equal(
    summary.processes.some((p) => p.pid === report.tid),
    false,
    "the thread is not a process",
  );
  const anomalies = await server.anomalies();
  assert.equal(anomalies.byKind["LEGACY_PID_MISMATCH"], 1);
  assert.match(
    anomalies.recent.find((a) => a.kind === "LEGACY_PID_MISMATCH")!.detail,
    new RegExp(`names process_id ${report.parent}, but legacy connection \\d+ belongs to pid ${report.pid}`),
  );
  client.stdin!.end("\n");
  await exited;
});

test("without peer credentials the frame's pid is taken as it is (plausibility checked only)", async (t) => {
  const server = await startLegacyServer({ frame: 144 }, { peerCredentials: WITHOUT_PEER_CREDENTIALS });
  t.after(() => server.stop());
  const other = process.ppid; // a live process that is not this one
  const c = await server.connectLegacy();
  await c.write(
    request(144, { type: TYPE.ALLOC, deviceId: 0, size: 4096, bufferType: 0, pid: other, bufferId: 1 }),
  );
  await c.write(
    request(144, { type: TYPE.ALLOC, deviceId: 0, size: 64, bufferType: 0, pid: 0, bufferId: 2 }),
  );
  await c.write(request(144, { type: TYPE.QUERY, deviceId: 0, size: 0, bufferType: 0, pid: 0, bufferId: 0 }));
  assert.equal(u64(await c.read(144), RESPONSE_OFFSETS[144].dram), 4096n);
  assert.equal(
    (await server.summary()).processes.find((p) => p.pid === other)?.devices[0]?.used["DRAM"],
    4096,
  );
  const anomalies = await server.anomalies();
  assert.equal(anomalies.byKind["INVALID_PID"], 1);
  assert.equal(anomalies.byKind["LEGACY_PID_MISMATCH"], undefined);
  c.close();
});

test("a peer the kernel names as pid 0 (outside the server's pid namespace): no frame can be attributed", async (t) => {
  const outsider = {
    available: true,
    unavailableReason: undefined,
    of: () => ({ pid: 0, uid: 1000, gid: 1000, startTicks: 0 }),
  };
  const server = await startLegacyServer({ frame: 144 }, { peerCredentials: outsider });
  t.after(() => server.stop());
  const c = await server.connectLegacy();
  await c.write(
    request(144, { type: TYPE.ALLOC, deviceId: 0, size: 4096, bufferType: 0, pid: 777, bufferId: 1 }),
  );
  await c.write(request(144, { type: TYPE.QUERY, deviceId: 0, size: 0, bufferType: 0, pid: 0, bufferId: 0 }));
  assert.equal(u64(await c.read(144), RESPONSE_OFFSETS[144].dram), 0n, "queries still answered");
  const anomalies = await server.anomalies();
  assert.equal(anomalies.byKind["LEGACY_PID_MISMATCH"], 1);
  assert.match(anomalies.recent[0]!.detail, /the kernel named no process/);
  c.close();
});
