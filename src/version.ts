import { readFileSync } from "node:fs";

/**
 * The package's version, read once from its package.json, so that the number is written in one place.
 * The path is relative to this module's compiled file (dist/src/version.js → ../../package.json), which
 * holds in the repository and in an installed package alike.
 */
export const VERSION: string = readPackageVersion();

function readPackageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version?: unknown;
  };
  if (typeof manifest.version !== "string") throw new Error("allocwatch: package.json has no version");
  return manifest.version;
}
