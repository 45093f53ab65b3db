import assert from "node:assert/strict";
import { test } from "node:test";
import { parseProcStat } from "../../src/protocol/proc-stat.js";

// A /proc/<pid>/stat line: pid (comm) state, then fields 4..52; field 22 is the start time in ticks.
function statLine(comm: string, state: string, startTicks: number): string {
  const rest = Array.from({ length: 49 }, (_, i) => (i === 22 - 4 ? String(startTicks) : "0"));
  return `4242 (${comm}) ${state} ${rest.join(" ")}\n`;
}

test("state and start ticks are read after the last ')' even when the name holds spaces and parentheses", () => {
  assert.deepEqual(parseProcStat(statLine("node", "S", 987654)), { state: "S", startTicks: 987654 });
  assert.deepEqual(parseProcStat(statLine("a b) Z (d", "R", 31337)), { state: "R", startTicks: 31337 });
  assert.deepEqual(parseProcStat(statLine("zombie", "Z", 5)), { state: "Z", startTicks: 5 });
});

test("a line that is not a stat line gives undefined; a short one gives start ticks 0", () => {
  assert.equal(parseProcStat("garbage"), undefined);
  assert.deepEqual(parseProcStat("1 (x) S 1"), { state: "S", startTicks: 0 });
});
