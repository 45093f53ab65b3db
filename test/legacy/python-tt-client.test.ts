// A tt-metal-like Python client (test/legacy/tt_client.py: stdlib socket + struct only) plays a whole
// session against `allocwatch serve --legacy-socket`: 8 devices, thousands of buffers, CBs, kernels,
// duplicate ALLOCs at one address, FREEs of unknown buffers, then dies. The server's view is checked
// through `allocwatch smi --json` and through a QUERY, against the client's own model.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { SmiJson } from "../../src/monitor/smi/json.js";
import type { SummaryResponse } from "../../src/server/api-types.js";
import { firstLine } from "../support/child-lines.js";
import { repoRoot } from "../support/repo-files.js";
import { waitFor } from "../support/wait-for.js";
import { RawLegacyClient } from "./legacy-server.js";
import { RESPONSE_OFFSETS, request, TYPE, u64 } from "./wire.js";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const cliEntry = join(here, "../../src/cli/main.js");

const pythonClient = join(repoRoot(import.meta.url), "test/legacy/tt_client.py");

interface ClientReport {
  pid: number;
  frameBytes: number;
  buffersSent: number;
  used: Record<string, number>[];
  liveKeys: number;
  unknownFrees: number;
  duplicatesWithOtherSize: number;
  queryMismatches: unknown[];
}

let dir: string;
let server: ChildProcess;
let serverUrl: string;
let legacyPath: string;

/** The HTTP summary smi renders (cheaper than spawning the CLI for polls). */
async function summary(): Promise<SummaryResponse> {
  return (await fetch(`${serverUrl}/api/v1/summary`)).json() as Promise<SummaryResponse>;
}

async function smi(): Promise<SmiJson> {
  const { stdout } = await run(process.execPath, [cliEntry, "smi", "--json", "--server", serverUrl]);
  return JSON.parse(stdout) as SmiJson;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "aw-tt-"));
  legacyPath = join(dir, "tt_allocation_server.sock");
  server = spawn(
    process.execPath,
    [
      cliEntry,
      "serve",
      "--socket",
      join(dir, "native.sock"),
      "--http",
      "127.0.0.1:0",
      "--legacy-socket",
      legacyPath,
      "--legacy-device",
      "0-7=wormhole_b0_n150",
      "--quiet",
      "--no-history",
    ],
    // stderr carries one warning per anomaly (the test provokes dozens): not shown.
    { stdio: ["ignore", "pipe", "ignore"] },
  );
  const line = await firstLine(server, /HTTP API/);
  serverUrl = /(http:\/\/[^/\s]+)/.exec(line)![1]!;
});

after(async () => {
  if (server.exitCode === null) {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

for (const frameBytes of [144, 112] as const) {
  test(`python tt-metal-like client (${frameBytes}-byte frames): smi and QUERY match its model; released when it dies`, async () => {
    const client = spawn("python3", [pythonClient, legacyPath, String(frameBytes)], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    const anomaliesBefore = (await summary()).anomalies.byKind;
    const report = JSON.parse(await firstLine(client, /^\{/)) as ClientReport;
    assert.equal(report.buffersSent, 4800);
    assert.deepEqual(report.queryMismatches, [], "the server's QUERY answers, as the client checked them");

    // An independent QUERY from here, on another connection, for one device.
    const monitor = await RawLegacyClient.connect(legacyPath);
    await monitor.write(
      request(144, { type: TYPE.QUERY, deviceId: 3, size: 0, bufferType: 0, pid: 0, bufferId: 0 }),
    );
    const reply = await monitor.read(144);
    assert.equal(u64(reply, RESPONSE_OFFSETS[144].dram), BigInt(report.used[3]!["DRAM"]!));
    assert.equal(u64(reply, RESPONSE_OFFSETS[144].cb), BigInt(report.used[3]!["CB"]!));
    monitor.close();

    // smi --json: the process appears per pid with its name, its bytes per device and type exact.
    const view = await smi();
    const mine = view.processes.find((p) => p.pid === report.pid);
    assert.ok(mine !== undefined, `pid ${report.pid} missing from smi`);
    assert.equal(mine.name, "python3");
    assert.equal(mine.devices.length, 8);
    let live = 0;
    for (const d of mine.devices) {
      assert.deepEqual(d.used, report.used[d.id], `device ${d.id}`);
      live += d.allocations;
    }
    assert.equal(live, report.liveKeys);
    for (const device of view.devices.filter((d) => d.id < 8)) {
      assert.equal(device.name, "wormhole_b0_n150");
      for (const [type, bytes] of Object.entries(report.used[device.id]!)) {
        assert.equal(device.memory[type]!.used, bytes, `device ${device.id} ${type}`);
      }
    }
    // Every oddity counted by kind: FREEs of unknown buffers, duplicate ALLOCs with another size.
    const delta = (kind: string) => (view.anomalies.byKind[kind] ?? 0) - (anomaliesBefore[kind] ?? 0);
    assert.equal(report.unknownFrees, 40);
    assert.equal(delta("UNKNOWN_FREE"), report.unknownFrees);
    assert.equal(report.duplicatesWithOtherSize, 8);
    assert.equal(delta("DUPLICATE_ALLOCATION"), report.duplicatesWithOtherSize);

    // The client dies (SIGKILL, no clean close): its memory is released once its pid is gone.
    const died = new Promise<NodeJS.Signals | null>((resolve) => client.once("exit", (_c, s) => resolve(s)));
    client.stdin!.end("die\n");
    assert.equal(await died, "SIGKILL");
    await waitFor(
      async () => {
        const after = await summary();
        return (
          !after.processes.some((p) => p.pid === report.pid) &&
          after.devices.every((d) => Object.values(d.memory).every((m) => m.used === 0))
        );
      },
      { what: `the memory of the killed pid ${report.pid} to be released`, intervalMs: 25 },
    );
  });
}
