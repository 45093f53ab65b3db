// docs/DESIGN.md "The resync model" maps the model's states and transitions to the code. A rename in the
// code or the model that leaves the map behind fails here, so that the two are changed together.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { filesUnder, repoRoot } from "../support/repo-files.js";

const root = repoRoot(import.meta.url);
const design = readFileSync(join(root, "docs", "DESIGN.md"), "utf8");
const model = readFileSync(join(root, "model", "resync.pml"), "utf8");

function section(): string {
  const start = design.indexOf("## The resync model");
  assert.ok(start >= 0, 'docs/DESIGN.md has a section "The resync model"');
  const end = design.indexOf("\n## ", start + 1);
  return design.slice(start, end < 0 ? undefined : end);
}

const sources = filesUnder(join(root, "src"))
  .filter((file) => file.endsWith(".ts"))
  .map((file) => ({ file, text: readFileSync(file, "utf8") }));

test("every source file the model's map names exists", () => {
  const paths = [...section().matchAll(/`(src\/[^`]+\.ts)`/g)].map((m) => m[1]!);
  assert.ok(paths.length >= 10, `the map names source files (${paths.length})`);
  for (const path of new Set(paths)) assert.ok(existsSync(join(root, path)), `${path} exists`);
});

test("every Class.member the model's map names is declared in that class's file", () => {
  const members = [...section().matchAll(/`([A-Z][A-Za-z]+)\.([A-Za-z_]+)`/g)];
  assert.ok(members.length >= 20, `the map names functions (${members.length})`);
  for (const [, owner, member] of members) {
    const declaring = sources.filter(({ text }) =>
      new RegExp(`(class|interface|const|type) ${owner}\\b`).test(text),
    );
    assert.ok(declaring.length > 0, `${owner} is declared in src/`);
    assert.ok(
      declaring.some(({ text }) => new RegExp(`\\b${member}\\b`).test(text)),
      `${owner}.${member} exists`,
    );
  }
});

test("every model variable in the state table is in model/resync.pml", () => {
  const stateTable = section().split("| model (resync.pml) | code |")[1]!.split("\n\n")[0]!;
  const names = stateTable
    .split("\n")
    .slice(2)
    .flatMap((row) => [...(row.split("|")[1] ?? "").matchAll(/`([a-zA-Z_][a-zA-Z_0-9]*(\[t\])?)`/g)])
    .map((m) => m[1]!.replace("[t]", ""));
  assert.ok(names.length >= 20, `the table names model variables (${names.length})`);
  for (const name of names) assert.match(model, new RegExp(`\\b${name}\\b`), `${name} is in the model`);
});
