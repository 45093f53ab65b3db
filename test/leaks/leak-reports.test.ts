// Issue 14, "must show" (leaks): a process that exits holding allocations (and one SIGKILLed, and one
// that says GOODBYE while holding some) yields a leak report with the right bytes per memory type and
// per context, through the HTTP API and the CLI; a clean exit yields none. Real `allocwatch serve`, real
// client processes (test/leaks/leaking-child.ts), the real clock and /proc liveness.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import {
  API_MEMORY_TYPES,
  type LeakReport,
  type LeaksResponse,
  type PerMemoryType,
} from "../../src/server/api-types.js";
import {
  cleanEnv,
  freePort,
  getJson,
  Proc,
  processScope,
  runCli,
  type ServerProc,
  startServerProcess,
  summaryOf,
  waitFor,
} from "../e2e/harness.js";
import { type HeldMemory, LEAKING_CHILD_MARKER } from "./leaking-child.js";

const CHILD = fileURLToPath(new URL("./leaking-child.js", import.meta.url));
const { dir, procs } = processScope();

let serverPromise: Promise<ServerProc> | undefined;
function server(): Promise<ServerProc> {
  serverPromise ??= (async () => {
    const started = await startServerProcess(join(dir, "server.sock"), await freePort());
    procs.push(started);
    return started;
  })();
  return serverPromise;
}

function startChild(socket: string, mode: string): Proc {
  const child = new Proc(
    spawn(process.execPath, [CHILD, LEAKING_CHILD_MARKER, socket, mode], {
      env: cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  procs.push(child);
  return child;
}

async function holding(child: Proc): Promise<HeldMemory> {
  const line = await child.line((l) => l.startsWith("{") && JSON.parse(l).event === "holding", 20_000);
  return JSON.parse(line).expected as HeldMemory;
}

/** Only the types that are not 0, so that `{}` and a PerMemoryType of zeros compare equal. */
function nonZero(bytes: PerMemoryType | Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const type of API_MEMORY_TYPES) {
    const n = (bytes as Record<string, number>)[type] ?? 0;
    if (n !== 0) out[type] = n;
  }
  return out;
}

async function reportOf(srv: ServerProc, pid: number): Promise<LeakReport> {
  return waitFor(`a leak report for pid ${pid}`, 15_000, async () => {
    const { reports } = await getJson<LeaksResponse>(`${srv.url}/api/v1/leaks?pid=${pid}`);
    return reports[0];
  });
}

function checkReport(report: LeakReport, child: Proc, held: HeldMemory, reason: string): void {
  assert.equal(report.pid, child.pid);
  assert.equal(report.reason, reason);
  assert.ok(report.id >= 1);
  assert.ok(report.endedAtMs >= report.startedAtMs && report.startedAtMs > 0);
  assert.deepEqual(nonZero(report.bytes), held.bytes, "bytes per memory type");
  const count = API_MEMORY_TYPES.reduce((n, t) => n + report.allocations[t], 0);
  assert.equal(count, held.allocations);
  const byContext: Record<string, Record<string, number>> = {};
  for (const group of report.byContext) byContext[group.context] = nonZero(group.bytes);
  assert.deepEqual(byContext, held.byContext, "bytes per context and type");
  // Most bytes first; the largest leaked allocation is the embedding's 32 KiB.
  assert.equal(report.byContext[0]!.context, "ttnn.embedding");
  assert.equal(report.largest[0]!.sizeBytes, 32 * 1024);
  assert.equal(report.largest[0]!.context, "ttnn.embedding");
  assert.equal(report.largest.length, Math.min(10, held.allocations));
  assert.ok(report.largest.every((a, i) => i === 0 || a.sizeBytes <= report.largest[i - 1]!.sizeBytes));
  // The embedding's buffer was allocated first (before the connection was up).
  assert.equal(report.oldest[0]!.context, "ttnn.embedding");
}

test("a process that exits holding allocations yields a report: bytes per type and per context", {
  timeout: 60_000,
}, async () => {
  const srv = await server();
  const child = startChild(join(dir, "server.sock"), "exit");
  const held = await holding(child);
  assert.ok(held.allocations >= 6);
  assert.deepEqual(Object.keys(held.byContext).sort(), [
    "",
    "ttnn.conv2d",
    "ttnn.conv2d.halo",
    "ttnn.embedding",
    "ttnn.matmul",
  ]);
  const exited = await child.exited;
  assert.equal(exited.code, 0);
  const report = await reportOf(srv, child.pid);
  checkReport(report, child, held, "process-exited");
  assert.equal(report.processName, "leaky-exit");

  // The CLI: --json is the API's answer; the table names the process, the reason, the types, the contexts.
  const json = await runCli(["leaks", "--json", "--pid", String(child.pid), "--server", srv.url]);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual((JSON.parse(json.stdout) as LeaksResponse).reports, [report]);
  const table = await runCli(["leaks", "--server", srv.url]);
  assert.equal(table.code, 0, table.stderr);
  const row = table.stdout.split("\n").find((l) => l.includes(String(child.pid)));
  assert.ok(row !== undefined, table.stdout);
  for (const text of [
    "leaky-exit",
    "process-exited",
    "DRAM 57.0 KiB",
    "L1 3.0 KiB",
    "CB 4.0 KiB",
    "ttnn.embedding 32.0 KiB",
  ]) {
    assert.ok(row.includes(text), `"${text}" in ${row}`);
  }
});

test("a SIGKILLed process yields a report too", { timeout: 60_000 }, async () => {
  const srv = await server();
  const child = startChild(join(dir, "server.sock"), "kill");
  const held = await holding(child);
  child.kill("SIGKILL");
  await child.exited;
  checkReport(await reportOf(srv, child.pid), child, held, "process-exited");
});

test("GOODBYE while holding allocations is a leak as well (reason goodbye)", {
  timeout: 60_000,
}, async () => {
  const srv = await server();
  const child = startChild(join(dir, "server.sock"), "close");
  const held = await holding(child);
  await child.exited;
  checkReport(await reportOf(srv, child.pid), child, held, "goodbye");
});

test("a clean exit (everything freed, GOODBYE) yields no report", { timeout: 60_000 }, async () => {
  const srv = await server();
  const child = startChild(join(dir, "server.sock"), "clean");
  const held = await holding(child);
  assert.equal(held.allocations, 0);
  await child.exited;
  // Wait for the session to be gone, then there must be no report for it.
  await waitFor("the clean process to leave the summary", 15_000, async () => {
    const s = await summaryOf(srv);
    return s.processes.some((p) => p.pid === child.pid) ? undefined : true;
  });
  const { reports } = await getJson<LeaksResponse>(`${srv.url}/api/v1/leaks?pid=${child.pid}`);
  assert.deepEqual(reports, []);
  const cli = await runCli(["leaks", "--pid", String(child.pid), "--server", srv.url]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /no leak reports/);
});

test("/api/v1/leaks and `allocwatch leaks` refuse bad queries with a clear message", {
  timeout: 30_000,
}, async () => {
  const srv = await server();
  for (const query of ["limit=0", "limit=1001", "pid=abc", "pid=0", "foo=1"]) {
    const response = await fetch(`${srv.url}/api/v1/leaks?${query}`);
    assert.equal(response.status, 400, query);
    const body = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "HTTP_BAD_REQUEST");
  }
  const bad = await runCli(["leaks", "--limit", "0", "--server", srv.url]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /1\.\.1000/);
  const help = await runCli(["leaks", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--pid <pid>/);
  assert.match(help.stdout, /--json/);
  assert.match(help.stdout, /--limit <n>/);
});
