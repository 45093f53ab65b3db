// `npm test` runs this after the build: node's test runner on exactly the compiled test files
// (dist/test/**/*.test.js), so that helper modules (fixtures, harnesses, worker programs) are never
// loaded as tests and the count printed is the count of test cases. Node 20's --test takes no glob
// patterns, hence the list. Options are passed on: `npm test -- --test-name-pattern=grace`.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { filesUnder, repoRoot } from "./repo-files.js";

/** Test files of the two cores the suite is sized for (more would only make timing noisier). */
export const TEST_CONCURRENCY = 2;

const TEST_SUFFIX = ".test.js";

/**
 * Tests that assert a latency ceiling (a p99 under hostile load): they run after the others, alone, so
 * that the ceiling measures the server and not a neighbouring CPU-heavy test on the same two cores.
 */
export const SOLO_TESTS: readonly string[] = ["server/hostile-fuzz.test.js"];

/**
 * The compiled test files under `compiledRoot` whose TypeScript source is still under `sourceRoot`,
 * sorted; `stale` are compiled tests whose source was deleted (tsc does not remove its old output).
 */
export function testFiles(compiledRoot: string, sourceRoot: string): { files: string[]; stale: string[] } {
  const files: string[] = [];
  const stale: string[] = [];
  for (const file of filesUnder(compiledRoot)) {
    if (!file.endsWith(TEST_SUFFIX)) continue;
    const source = join(sourceRoot, relative(compiledRoot, file)).replace(/\.js$/, ".ts");
    (existsSync(source) ? files : stale).push(file);
  }
  return { files: files.sort(), stale: stale.sort() };
}

/** dist/test: the folder above this compiled file's folder. */
export const compiledTestRoot = join(dirname(fileURLToPath(import.meta.url)), "..");

/** test/ of the checkout that holds package.json above dist/. */
export function sourceTestRoot(): string {
  return join(repoRoot(import.meta.url), "test");
}

function main(): void {
  const { files, stale } = testFiles(compiledTestRoot, sourceTestRoot());
  if (stale.length > 0) {
    process.stderr.write(`run-tests: skipping compiled tests whose source is gone: ${stale.join(", ")}\n`);
  }
  // `serve` keeps history under $XDG_STATE_HOME by default: a test that starts one without --no-history
  // writes into a directory of this run, never into the user's.
  const state = mkdtempSync(join(tmpdir(), "allocwatch-test-state-"));
  process.env["XDG_STATE_HOME"] = state;
  const solo = files.filter((file) => SOLO_TESTS.some((name) => file.endsWith(`/${name}`)));
  const shared = files.filter((file) => !solo.includes(file));
  void run(shared, TEST_CONCURRENCY)
    .then((code) => (solo.length > 0 ? run(solo, 1).then((soloCode) => code || soloCode) : code))
    .then((code) => {
      rmSync(state, { recursive: true, force: true });
      process.exitCode = code;
    });
}

/** Runs `files` with node's test runner; resolves with its exit code. */
function run(files: readonly string[], concurrency: number): Promise<number> {
  const child = spawn(
    process.execPath,
    ["--test", `--test-concurrency=${concurrency}`, ...process.argv.slice(2), ...files],
    { stdio: "inherit" },
  );
  return new Promise((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.env["NODE_TEST_CONTEXT"] === undefined) {
  main();
}
