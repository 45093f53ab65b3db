// Builds the peer-credentials addon (SO_PEERCRED, and the descriptor dup that ingest shards use) (native/peercred/peercred.c → native/build/peercred.node) with the C
// compiler alone: no node-gyp, so no download of Node's headers (the Node-API headers come from the
// node-api-headers package, or from the Node installation). Run by `npm ci` / `npm install` (the
// "install" script) and by `npm run build`. It never fails the install: the server works without the
// addon (it logs a warning and checks HELLO without the kernel's word), so on any problem this prints
// one warning line and exits 0.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "native", "peercred", "peercred.c");
const outDir = join(root, "native", "build");
const output = join(outDir, "peercred.node");
const require = createRequire(import.meta.url);

function warn(reason) {
  process.stderr.write(
    `allocwatch: peer-credential addon not built (${reason}); the server will run without it\n`,
  );
}

/** A folder holding node_api.h: the node-api-headers package first, then the Node installation. */
function headerDir() {
  const candidates = [];
  try {
    candidates.push(join(dirname(require.resolve("node-api-headers/package.json")), "include"));
  } catch {
    // not installed (e.g. --omit=optional or an older lockfile): try Node's own headers
  }
  candidates.push(join(dirname(process.execPath), "..", "include", "node"), "/usr/include/node");
  return candidates.find((dir) => existsSync(join(dir, "node_api.h")));
}

function build() {
  if (process.platform !== "linux") return warn(`SO_PEERCRED is Linux-only, this is ${process.platform}`);
  if (!existsSync(source)) return warn(`${source} is missing`);
  const include = headerDir();
  if (include === undefined) return warn("no node_api.h found (install node-api-headers)");
  const compiler = process.env.CC || "cc";
  mkdirSync(outDir, { recursive: true });
  // Built under a temporary name (ending in .node, so that require loads it as an addon) and renamed
  // once it loads: a half-written or broken file never sits where the server looks.
  const partial = join(outDir, `peercred.${process.pid}.tmp.node`);
  try {
    try {
      execFileSync(
        compiler,
        ["-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-I", include, "-o", partial, source],
        { stdio: ["ignore", "ignore", "pipe"], timeout: 120_000 },
      );
    } catch (error) {
      const detail = String(error.stderr || error.message || error)
        .trim()
        .split("\n")[0];
      return warn(`${compiler} failed: ${detail}`);
    }
    try {
      const addon = require(partial);
      if (typeof addon.peerCredentials !== "function") throw new Error("no peerCredentials export");
      if (typeof addon.dupDescriptor !== "function") throw new Error("no dupDescriptor export");
    } catch (error) {
      return warn(`the built addon does not load: ${error.message}`);
    }
    renameSync(partial, output);
  } finally {
    rmSync(partial, { force: true });
  }
  process.stdout.write(`allocwatch: built ${output}\n`);
}

try {
  build();
} catch (error) {
  warn(String(error?.message ?? error));
}
process.exitCode = 0;
