// `npm test` runs the *.test.ts files and nothing else: every file that declares tests is named so, every
// file named so declares tests, and the runner's list is exactly their compiled output. Helper modules
// (fixtures, harnesses, worker programs) are therefore never counted as tests.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { test } from "node:test";
import { filesUnder } from "../support/repo-files.js";
import { compiledTestRoot, SOLO_TESTS, sourceTestRoot, testFiles } from "../support/run-tests.js";

const sourceRoot = sourceTestRoot();
const TEST_DECLARATIONS = new Set(["test", "it", "describe", "suite"]);

const sourceFiles = (dir: string) => filesUnder(dir).filter((file) => file.endsWith(".ts"));

/** Names a file imports from node:test that declare tests (`import test from`, `import { test, it }`). */
function testDeclarationsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const names: string[] = [];
  for (const match of text.matchAll(/import\s+([^;]*?)\s+from\s+["']node:test["']/g)) {
    const clause = match[1]!;
    const named = /\{([^}]*)\}/.exec(clause)?.[1] ?? "";
    const defaultName = clause
      .replace(/\{[^}]*\}/, "")
      .replace(/,/g, "")
      .trim();
    if (defaultName !== "") names.push("test");
    for (const part of named.split(",")) {
      const name = part
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/)[0]!;
      if (TEST_DECLARATIONS.has(name)) names.push(name);
    }
  }
  return names;
}

const isTestFile = (file: string) => file.endsWith(".test.ts");

test("files that declare tests are exactly the *.test.ts files", () => {
  const problems: string[] = [];
  for (const file of sourceFiles(sourceRoot)) {
    const declares = testDeclarationsOf(file).length > 0;
    const name = relative(sourceRoot, file);
    if (declares && !isTestFile(file)) problems.push(`${name} declares tests: name it *.test.ts`);
    if (!declares && isTestFile(file)) problems.push(`${name} declares no test: it is a helper, rename it`);
  }
  assert.deepEqual(problems, []);
});

test("the test runner's list is the compiled output of every *.test.ts file, and only that", () => {
  const expected = sourceFiles(sourceRoot)
    .filter(isTestFile)
    .map((file) => relative(sourceRoot, file))
    .sort();
  const { files } = testFiles(compiledTestRoot, sourceRoot);
  const listed = files.map((file) => relative(compiledTestRoot, file).replace(/\.js$/, ".ts")).sort();
  assert.deepEqual(listed, expected);
  assert.ok(listed.length > 50, `the scan found the tests (${listed.length})`);
});

test("npm test runs the suite through that list", () => {
  const pkg = JSON.parse(readFileSync(join(dirname(sourceRoot), "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  };
  assert.match(pkg.scripts["test"]!, /node dist\/test\/support\/run-tests\.js/);
  assert.doesNotMatch(pkg.scripts["test"]!, /node --test\b/, "a bare --test over dist/test runs helpers too");
});

test("every test the runner runs alone is a test file of the suite (a renamed one would silently run shared)", () => {
  const { files } = testFiles(compiledTestRoot, sourceTestRoot());
  for (const name of SOLO_TESTS) {
    assert.ok(
      files.some((file) => file.endsWith(`/${name}`)),
      `${name} is in SOLO_TESTS but no such test file exists`,
    );
  }
});
