// The C++ tt-metal adapter end to end: clients/cpp/examples/tt_metal_churn drives the adapter through the
// tt-metal stand-in from 4 threads on 2 chips and a mesh over both (buffers with immediate address reuse,
// mesh buffers, circular buffers), through the real C client, into a real server; the server's view of
// its pid must equal the live set it printed, with no anomaly (test/clients/churn-harness.ts). The driver
// runs its work inside named functions (track_function_start/end, as TT-NN brackets its operations): the
// server's allocations and, once it is killed, its leak report carry those names as contexts.
// The binary is built with g++/gcc at test start into clients/cpp/build/e2e (rebuilt when a source is
// newer); the test is skipped, saying why, only when no compiler is installed.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import type { AllocationsResponse, LeaksResponse } from "../../src/server/api-types.js";
import { startTestServer, type TestServer } from "../server/test-server.js";
import { repoRoot } from "../support/repo-files.js";
import { waitFor } from "../support/wait-for.js";
import { expectExact, startChurn } from "./churn-harness.js";

const root = repoRoot(import.meta.url);
const cpp = join(root, "clients", "cpp");
const outDir = join(cpp, "build", "e2e");
const binary = join(outDir, "tt_metal_churn");

const SOURCES = [
  "clients/c/allocwatch.h",
  "clients/cpp/allocwatch.hpp",
  "clients/cpp/allocwatch_impl.c",
  "clients/cpp/examples/tt_metal_churn.cpp",
  "clients/cpp/tt_metal/allocwatch_processor.hpp",
  "clients/cpp/tt_metal/allocwatch_processor.cpp",
  "clients/cpp/tt_metal/standin/standin.cpp",
  "clients/cpp/tt_metal/standin/tt-metalium/buffer.hpp",
  "clients/cpp/tt_metal/standin/tt-metalium/graph_tracking.hpp",
  "clients/cpp/tt_metal/standin/tt-metalium/mesh_device.hpp",
  "clients/cpp/tt_metal/standin/tt-metalium/device.hpp",
  "clients/cpp/tt_metal/standin/tt-metalium/core_coord.hpp",
  "clients/cpp/tt_metal/standin/tt-metalium/program.hpp",
].map((path) => join(root, path));

function missingCompiler(): string | undefined {
  for (const compiler of ["g++", "gcc"]) {
    if (spawnSync(compiler, ["--version"]).status !== 0) return `${compiler} is not installed`;
  }
  return undefined;
}

async function buildChurn(): Promise<string> {
  const builtAt = existsSync(binary) ? statSync(binary).mtimeMs : 0;
  if (SOURCES.every((source) => statSync(source).mtimeMs < builtAt)) return binary;
  mkdirSync(outDir, { recursive: true });
  const run = promisify(execFile);
  const object = join(outDir, "allocwatch_impl.o");
  await run("gcc", [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-O2",
    "-pthread",
    "-c",
    join(cpp, "allocwatch_impl.c"),
    "-o",
    object,
  ]);
  await run("g++", [
    ...[
      "-std=c++20",
      "-Wall",
      "-Wextra",
      "-Werror",
      "-O2",
      "-pthread",
      "-I",
      join(cpp, "tt_metal", "standin"),
    ],
    join(cpp, "examples", "tt_metal_churn.cpp"),
    join(cpp, "tt_metal", "allocwatch_processor.cpp"),
    join(cpp, "tt_metal", "standin", "standin.cpp"),
    object,
    ...["-o", `${binary}.tmp`],
  ]);
  renameSync(`${binary}.tmp`, binary);
  return binary;
}

const skip = missingCompiler();

test("the C++ tt-metal adapter, driven from 4 threads through the stand-in, ends exact on the server", {
  skip: skip === undefined ? false : `no C/C++ compiler: ${skip}`,
  timeout: 180_000,
}, async () => {
  const churn = await buildChurn();
  const server = await startTestServer();
  const running = startChurn([churn], {
    socket: server.socketPath,
    threads: 4,
    ops: 3000,
    devices: 2,
    holdMs: 60_000,
  });
  try {
    const report = await running.report;
    await expectExact(async () => server.queries.summary(), report, 30_000);
    const held = await contextsHeld(server, report.pid);
    // The driver's functions (tt_metal_churn.cpp): every buffer was made in its thread's "churn.thread",
    // about half in a nested "churn.create" (the innermost wins); its CBs in "churn.program".
    assert.deepEqual(Object.keys(held).sort(), ["churn.create", "churn.program", "churn.thread"]);
    assert.deepEqual(Object.keys(held["churn.program"]!), ["CB"]);
    assert.ok(!("CB" in held["churn.thread"]!) && !("CB" in held["churn.create"]!));

    // Killed holding them: the leak report groups the same bytes by the same contexts.
    running.child.kill("SIGKILL");
    const leak = await waitFor(
      async () => {
        const reports = (await server.get(`/api/v1/leaks?pid=${report.pid}`)).body as LeaksResponse;
        return reports.reports[0];
      },
      { what: `a leak report for pid ${report.pid}`, timeoutMs: 30_000 },
    );
    const byContext: Record<string, Record<string, number>> = {};
    for (const group of leak.byContext) {
      byContext[group.context] = Object.fromEntries(
        Object.entries(group.bytes).filter(([, bytes]) => bytes > 0),
      );
    }
    assert.deepEqual(byContext, held);
    assert.ok(leak.largest.length > 0 && leak.largest.every((a) => a.context in held));
  } finally {
    running.child.kill("SIGTERM");
    await running.exit;
    await server.stop();
  }
});

/** The live bytes of `pid` per context and memory type, from the allocation lists of devices 0 and 1. */
async function contextsHeld(
  server: TestServer,
  pid: number,
): Promise<Record<string, Record<string, number>>> {
  const held: Record<string, Record<string, number>> = {};
  for (const device of [0, 1]) {
    const response = await server.get(`/api/v1/devices/${device}/allocations?limit=10000`);
    assert.equal(response.status, 200);
    const list = response.body as AllocationsResponse;
    assert.equal(list.allocations.length, list.total, "every allocation listed");
    for (const allocation of list.allocations) {
      if (allocation.pid !== pid) continue;
      const types = held[allocation.context] ?? {};
      types[allocation.memoryType] = (types[allocation.memoryType] ?? 0) + allocation.sizeBytes;
      held[allocation.context] = types;
    }
  }
  return held;
}

test("tt_metal_churn refuses bad arguments with exit 2 and says which", {
  skip: skip === undefined ? false : `no C/C++ compiler: ${skip}`,
  timeout: 180_000,
}, async () => {
  const churn = await buildChurn();
  const cases: [string[], string][] = [
    [["--threads", "2"], "--socket is required"],
    [["--socket", "/tmp/x.sock", "--ops", "many"], "not a number: --ops many"],
    [["--socket", "/tmp/x.sock", "--colour", "3"], "unknown option --colour"],
    [["--socket", "/tmp/x.sock", "--devices", "0"], "--devices 1..64"],
    [["--socket"], "every option takes a value"],
  ];
  for (const [args, message] of cases) {
    const result = spawnSync(churn, args, { encoding: "utf8" });
    assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.ok(result.stderr.includes(message), `${args.join(" ")}: ${result.stderr}`);
    assert.equal(result.stdout, "");
  }
});
