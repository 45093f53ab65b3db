// The registry stays small per live allocation: struct-of-arrays slots (45 bytes) whose two link columns
// thread its ledger's id and address indexes (SlotChains; 4-byte heads, at most 2 per live allocation for ids, 1 for addresses),
// no object per allocation. At 300k live the power-of-two columns are 57% used (2^19 slots), so the figure
// here (~114 bytes) is above the ~60 bytes of the 1M-live benchmark (server_bytes_per_live_allocation <= 64);
// two 12-byte open-addressing indexes per allocation, as before, measured ~151 here.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const fixture = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "registry-memory.js");

test("memory per live allocation stays under 125 bytes (300k live, worst-case heap-number keys)", () => {
  const output = execFileSync(process.execPath, ["--expose-gc", fixture, "300000"], { encoding: "utf8" });
  const { live, bytesPerAllocation } = JSON.parse(output) as { live: number; bytesPerAllocation: number };
  assert.equal(live, 300000);
  assert.ok(bytesPerAllocation > 20, `a measurement that sees nothing is broken (${bytesPerAllocation})`);
  assert.ok(bytesPerAllocation <= 125, `${bytesPerAllocation.toFixed(1)} bytes per live allocation`);
});
