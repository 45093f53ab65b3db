// The published package: `npm pack` ships the compiled library and CLI, the README and the LICENSE,
// the peer-credential addon's C source and its build script (an installed tarball builds it), and nothing
// of the tests or benchmarks. Scripts are skipped (no prepack build): this checks the file
// selection against the build the test suite runs on. Installing the tarball needs the registry, so that
// check is done by hand (docs/ARCHITECTURE.md, "The package").
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { repoRoot } from "../support/repo-files.js";

const root = repoRoot(import.meta.url);

interface PackEntry {
  path: string;
}

async function packedFiles(): Promise<Set<string>> {
  const { stdout } = await promisify(execFile)("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: root,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [report] = JSON.parse(stdout) as [{ files: PackEntry[] }];
  return new Set(report.files.map((entry) => entry.path));
}

/** Every file path an `exports` map names, whatever the conditions. */
function exportTargets(exportsField: unknown): string[] {
  if (typeof exportsField === "string") return [exportsField.replace(/^\.\//, "")];
  if (exportsField === null || typeof exportsField !== "object") return [];
  return Object.values(exportsField).flatMap(exportTargets);
}

/** Outside dist/src: what an install needs to build the native addon (`install` script). */
const NATIVE_BUILD_FILES = ["native/peercred/peercred.c", "scripts/build-native.mjs"];

test("npm pack ships dist/src, the README, the LICENSE and the addon source, not the tests or benchmarks", async () => {
  const files = await packedFiles();
  for (const path of [
    "package.json",
    "README.md",
    "LICENSE",
    "dist/src/cli/main.js",
    "dist/src/index.js",
    "dist/src/index.d.ts",
    "dist/src/client/index.js",
    "dist/src/client/index.d.ts",
    "dist/src/version.js",
    ...NATIVE_BUILD_FILES,
  ]) {
    assert.ok(files.has(path), `${path} is in the package`);
  }
  const outside = [...files].filter(
    (path) =>
      !path.startsWith("dist/src/") &&
      !["package.json", "README.md", "LICENSE", ...NATIVE_BUILD_FILES].includes(path),
  );
  assert.deepEqual(outside, [], "only dist/src, the top-level package files and the addon's source");
});

test("every file the package.json names (bin, main, types, exports) is in the package", async () => {
  const files = await packedFiles();
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    bin: Record<string, string>;
    main: string;
    types: string;
    exports: unknown;
  };
  const named = [
    ...Object.values(manifest.bin),
    manifest.main,
    manifest.types,
    ...exportTargets(manifest.exports),
  ].map((path) => path.replace(/^\.\//, ""));
  assert.ok(named.length >= 8, "the manifest names its entry points");
  for (const path of named) assert.ok(files.has(path), `${path} (named in package.json) is in the package`);
});
