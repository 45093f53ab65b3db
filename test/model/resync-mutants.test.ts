// The resync model's properties bite (docs/DESIGN.md "The resync model"): each mutant, the seed's naive
// order and a server that ignores the snapshot watermark, yields a SPIN counterexample trail, while the
// model as implemented passes the naive mutant's own configuration. Runs the real `npm run model` script.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../support/repo-files.js";

const root = repoRoot(import.meta.url);
const script = join(root, "scripts", "model.mjs");

function have(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
}

const missing = ["spin", "cc"].filter((command) => !have(command));
const skip =
  missing.length > 0
    ? `${missing.join(" and ")} not installed (apt-get install spin gcc; .ci/run installs them)`
    : false;

interface RunResult {
  name: string;
  ok: boolean;
  errors: number;
  trail: boolean;
  violation?: string;
  states: number;
  dir: string;
}

function model(args: string[]): { status: number | null; output: string; results: RunResult[] } {
  const dir = mkdtempSync(join(tmpdir(), "allocwatch-model-test-"));
  try {
    const json = join(dir, "results.json");
    const keep = join(dir, "runs");
    const run = spawnSync(process.execPath, [script, ...args, "--json", json, "--keep", keep], {
      encoding: "utf8",
      timeout: 300_000,
    });
    const results: RunResult[] = existsSync(json) ? JSON.parse(readFileSync(json, "utf8")) : [];
    // Check the trail files while the folder exists.
    for (const result of results)
      result.trail = result.trail && existsSync(join(result.dir, "resync.pml.trail"));
    return { status: run.status, output: `${run.stdout}${run.stderr}`, results };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("each mutant of the resync model yields a counterexample trail", { skip }, () => {
  const { status, output, results } = model(["--ci", "--only", "mutant/"]);
  assert.equal(status, 0, output);
  const byName = new Map(results.map((r) => [r.name, r]));
  for (const name of ["mutant/naive-order", "mutant/watermark-ignored"]) {
    const result = byName.get(name);
    assert.ok(result !== undefined, `${name} ran:\n${output}`);
    assert.ok(result.errors > 0, `${name} found an error`);
    assert.equal(result.trail, true, `${name} left a .trail file`);
    assert.match(result.violation ?? "", /assertion violated/);
  }
  // The seed's race: an anomaly counted although nothing was lost (property c).
  assert.match(byName.get("mutant/naive-order")!.violation!, /anomalies==0/);
});

test("the model as implemented passes the naive mutant's configuration", { skip }, () => {
  const { status, output, results } = model(["--ci", "--only", "safety/lossless"]);
  assert.equal(status, 0, output);
  assert.equal(results.length, 1);
  assert.equal(results[0]!.errors, 0);
  assert.equal(results[0]!.trail, false);
  assert.ok(results[0]!.states > 1000, `a real search (${results[0]!.states} states)`);
});

test("npm run model refuses an unknown argument, or a filter that selects nothing, with exit code 2", () => {
  const unknown = spawnSync(process.execPath, [script, "--fast"], { encoding: "utf8", timeout: 30_000 });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown argument --fast/);
  if (skip !== false) return;
  const none = spawnSync(process.execPath, [script, "--only", "nothing/"], {
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(none.status, 2);
  assert.match(none.stderr, /no run matches --only nothing\//);
});
