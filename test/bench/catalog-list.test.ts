// The real runner lists every required benchmark (without running any): `--list` parses, loads every
// benchmark module, and names the seven results the issue requires.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const RUNNER = fileURLToPath(new URL("../../bench/run.js", import.meta.url));
const REQUIRED = [
  "ingest_events_per_s",
  "client_overhead_ns_per_event",
  "e2e_events_per_s",
  "visibility_latency_p99_ms",
  "server_bytes_per_live_allocation",
  "summary_query_ms",
  "allocator_pairs_per_s",
];

test("bench/run.js --list names the seven required results with their targets", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [RUNNER, "--list"], { timeout: 10_000 });
  const names = stdout
    .trim()
    .split("\n")
    .map((line) => line.split(/\s+/)[0]);
  for (const name of REQUIRED) assert.ok(names.includes(name), `${name} missing from:\n${stdout}`);
  assert.match(stdout, /ingest_events_per_s\s+e2e\s+events\/s target >= 5,000,000/);
});

test("bench/run.js --list names the multi-process ingest results and the thread count they ran with", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [RUNNER, "--list"], { timeout: 10_000 });
  for (const name of ["ingest_events_per_s_8proc", "ingest_events_per_s_4proc", "ingest_procs_threads"]) {
    assert.match(stdout, new RegExp(`^${name}\\s+e2e\\s`, "m"), `${name} missing from:\n${stdout}`);
  }
});

test("bench/run.js rejects an unknown --only name with exit code 2 and the known names", async () => {
  await assert.rejects(
    promisify(execFile)(process.execPath, [RUNNER, "--only", "no_such_benchmark"], { timeout: 10_000 }),
    (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 2);
      assert.match(error.stderr ?? "", /no benchmark or metric named "no_such_benchmark"/);
      assert.match(error.stderr ?? "", /summary_query_ms/);
      return true;
    },
  );
});
