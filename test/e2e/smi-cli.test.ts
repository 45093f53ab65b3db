// `allocwatch smi` against nothing and against a real server fed by a real workload process.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type Schema, schemaProblems } from "../support/json-schema.js";
import { repoRoot } from "../support/repo-files.js";
import { freePort, processScope, runCli, startServerWithSteadyDemo, waitFor } from "./harness.js";

const scope = processScope();
const schema = JSON.parse(
  readFileSync(join(repoRoot(import.meta.url), "docs", "smi-json.schema.json"), "utf8"),
) as Schema;

test("with no server, smi prints one line that says what to do, and exits 3", async () => {
  const port = await freePort();
  for (const args of [["smi"], ["smi", "--json"]]) {
    const { code, stdout, stderr } = await runCli([...args, "--http", `127.0.0.1:${port}`]);
    assert.equal(code, 3);
    assert.equal(stdout, "");
    assert.equal(
      stderr,
      `allocwatch: no allocation server at http://127.0.0.1:${port} (start one with \`allocwatch serve\`)\n`,
    );
  }
});

test("ALLOCWATCH_HTTP chooses the server address", async () => {
  const port = await freePort();
  const viaEnv = await runCli(["smi"], { ...process.env, ALLOCWATCH_HTTP: `127.0.0.1:${port}` });
  assert.match(viaEnv.stderr, new RegExp(`no allocation server at http://127\\.0\\.0\\.1:${port} `));
});

test("smi --json: devices with every memory type, processes with per-device use, anomalies", {
  timeout: 30_000,
}, async () => {
  const { server, client } = await startServerWithSteadyDemo(scope, "server.sock");
  const json = await waitFor("the process to show up", 10_000, async () => {
    const { code, stdout } = await runCli(["smi", "--json", "--server", server.url]);
    if (code !== 0) return undefined;
    const parsed = JSON.parse(stdout);
    return parsed.processes.length === 1 ? parsed : undefined;
  });
  assert.deepEqual(Object.keys(json).sort(), [
    "anomalies",
    "devices",
    "processes",
    "schemaVersion",
    "server",
    "timestamp",
  ]);
  assert.equal(json.schemaVersion, 1);
  assert.equal(json.server.url, server.url);
  assert.match(json.server.version, /^\d+\.\d+\.\d+/);
  assert.deepEqual(schemaProblems(schema, json), []);
  assert.deepEqual(
    json.devices.map((d: { id: number }) => d.id),
    [0, 1],
  );
  for (const device of json.devices) {
    assert.equal(typeof device.name, "string");
    assert.deepEqual(Object.keys(device.memory), [
      "DRAM",
      "L1",
      "SYSTEM_MEMORY",
      "L1_SMALL",
      "TRACE",
      "CB",
      "KERNEL",
    ]);
    for (const usage of Object.values(device.memory) as Record<string, number>[]) {
      assert.deepEqual(Object.keys(usage).sort(), [
        "allocations",
        "leaked",
        "overCapacity",
        "peak",
        "total",
        "used",
        "usedPercent",
      ]);
      for (const key of ["allocations", "leaked", "peak", "total", "used"]) {
        assert.ok(Number.isSafeInteger(usage[key]) && usage[key]! >= 0);
      }
    }
    assert.ok(device.memory.DRAM.used > 0 && device.memory.DRAM.total > device.memory.DRAM.used);
  }
  const [proc] = json.processes;
  assert.equal(proc.pid, client.pid);
  assert.equal(proc.name, "llama-decoder");
  assert.deepEqual(
    proc.devices.map((d: { id: number }) => d.id),
    [0, 1],
  );
  assert.ok(proc.devices[0].used.DRAM > 0);
  assert.equal(typeof json.anomalies.total, "number");

  // The table form shows the same process.
  const table = await runCli(["smi", "--server", server.url]);
  assert.equal(table.code, 0);
  assert.match(table.stdout, new RegExp(`^\\s*${client.pid}\\s+llama-decoder\\s+0\\s`, "m"));
  assert.match(table.stdout, /^ {2}0 {2}\S.* used /m);
});
