// Dependency arrows are enforced, not hoped for (docs/DESIGN.md rule 3): every import in src/ is checked
// against the allowed layer graph (docs/ARCHITECTURE.md, "Layers and arrows").
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";
import { filesUnder, repoRoot } from "../support/repo-files.js";

const root = repoRoot(import.meta.url);
const srcRoot = join(root, "src");
const sourceFiles = (dir: string) => filesUnder(dir).filter((file) => file.endsWith(".ts"));

/** Packages browser code may import (served from the package: scripts/build-dashboard.mjs). */
const browserPackages: readonly string[] = ["uplot"];

/** Which layers each layer may import (besides itself). */
const allowed: Record<string, readonly string[]> = {
  protocol: [],
  device: [],
  client: ["protocol", "device"],
  // The legacy adapter sizes devices for legacy clients (which send no capacities) from the presets.
  server: ["protocol", "device/presets", "device/layout", "version"],
  monitor: ["server/api-types"],
  // The web dashboard runs in the browser: the API's types (and route names), and no Node API.
  dashboard: ["server/api-types"],
  // Workloads (the race experiment, the demo fleet) drive the runtime model and report through the client.
  // The replay names its anomalies with the server's kinds (one vocabulary).
  race: ["device", "server/anomaly-kind"],
  demo: ["device", "client"],
  cli: ["*"],
  // The package's files at the top of src/: the main entry (the server's public API) and the version.
  index: ["server", "version"],
  version: [],
};

function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers: string[] = [];
  for (const match of text.matchAll(
    /(?:import|export)\s[^"']*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g,
  )) {
    specifiers.push((match[1] ?? match[2])!);
  }
  return specifiers;
}

/** The folder under src/, or for a file at the top of src/ its name without extension. */
function layerOf(pathInSrc: string): string {
  return pathInSrc.split(sep)[0]!.replace(/\.ts$/, "");
}

test("every import in src/ follows the layer arrows", () => {
  const violations: string[] = [];
  for (const file of sourceFiles(srcRoot)) {
    const from = relative(srcRoot, file);
    const layer = layerOf(from);
    const rules = allowed[layer];
    if (!rules) {
      violations.push(
        `${from} is in src/${layer}/, which the layer map does not know: add it with its arrows`,
      );
      continue;
    }
    for (const specifier of importsOf(file)) {
      const pure = layer === "protocol" || layer === "device";
      if (specifier.startsWith("node:") || !specifier.startsWith(".")) {
        if (layer === "dashboard" && !browserPackages.includes(specifier)) {
          violations.push(`${from} imports ${specifier} (browser code: only ${browserPackages.join(", ")})`);
        }
        if (pure) violations.push(`${from} imports ${specifier} (pure layer: no runtime or package imports)`);
        continue;
      }
      const target = relative(srcRoot, resolve(dirname(file), specifier)).replace(/\.js$/, "");
      const targetLayer = layerOf(target);
      if (targetLayer === layer || rules.includes("*")) continue;
      const ok = rules.some((rule) => target === rule || targetLayer === rule);
      if (!ok)
        violations.push(`${from} imports ${target} (${layer} may import: ${rules.join(", ") || "nothing"})`);
    }
  }
  assert.deepEqual(violations, []);
});

test("the layer check sees real imports (guards against a scanner that matches nothing)", () => {
  const cliImports = sourceFiles(join(srcRoot, "cli")).flatMap(importsOf);
  assert.ok(cliImports.includes("commander"), "src/cli/main.ts imports commander");
});
