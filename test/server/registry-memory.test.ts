// The registry stays small per live allocation (target <= 250 bytes at 1M live): struct-of-arrays
// slots plus one bucket in each of two open-addressing hash tables (SlotIndex), no object per allocation.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const fixture = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "registry-memory.js");

test("memory per live allocation stays under 250 bytes (300k live, worst-case heap-number keys)", () => {
  const output = execFileSync(process.execPath, ["--expose-gc", fixture, "300000"], { encoding: "utf8" });
  const { live, bytesPerAllocation } = JSON.parse(output) as { live: number; bytesPerAllocation: number };
  assert.equal(live, 300000);
  assert.ok(bytesPerAllocation > 20, `a measurement that sees nothing is broken (${bytesPerAllocation})`);
  assert.ok(bytesPerAllocation <= 250, `${bytesPerAllocation.toFixed(1)} bytes per live allocation`);
});
