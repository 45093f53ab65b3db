// The package's entry points resolve through package.json `exports` (Node's self-reference by package
// name), and the version is the one package.json states.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../support/repo-files.js";

const root = repoRoot(import.meta.url);
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };

// A specifier in a variable: the compiler must not resolve the package's own declarations while it
// is still emitting them.
async function importPackage(specifier: string): Promise<Record<string, unknown>> {
  return (await import(specifier)) as Record<string, unknown>;
}

test('"allocwatch" is the server library, with the version from package.json', async () => {
  const main = await importPackage("allocwatch");
  assert.equal(typeof main["startServer"], "function");
  assert.deepEqual(main["API_MEMORY_TYPES"], [
    "DRAM",
    "L1",
    "SYSTEM_MEMORY",
    "L1_SMALL",
    "TRACE",
    "CB",
    "KERNEL",
  ]);
  assert.equal(main["VERSION"], manifest.version);
  assert.equal(main["SERVER_VERSION"], manifest.version);
});

test('"allocwatch/client" is the client library plus the runtime model', async () => {
  const client = await importPackage("allocwatch/client");
  for (const name of [
    "AllocationClient",
    "TrackingProcessor",
    "Device",
    "DeviceBuffer",
    "GraphTracker",
    "deviceOptions",
    "WORMHOLE_B0_N150",
  ]) {
    assert.equal(typeof client[name], name === "WORMHOLE_B0_N150" ? "object" : "function", name);
  }
  assert.equal(typeof client["MemoryType"], "object");
  assert.equal("Buffer" in client, false, "no export shadows Node's global Buffer");
});

test('"allocwatch/package.json" is exported', async () => {
  const { createRequire } = await import("node:module");
  const required = createRequire(join(root, "test-entry.js"))("allocwatch/package.json") as {
    version: string;
  };
  assert.equal(required.version, manifest.version);
});
