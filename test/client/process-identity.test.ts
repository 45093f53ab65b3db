import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { parseStartTicks, readProcessStartTicks } from "../../src/client/process-identity.js";

// Field 22 of /proc/<pid>/stat is the start time; fields 3.. follow the LAST ')'.
function statLine(comm: string, startTicks: number): string {
  const after = [
    "S",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "10",
    "11",
    "12",
    "13",
    "14",
    "15",
    "16",
    "17",
    "18",
  ];
  return `4242 (${comm}) ${after.join(" ")} ${startTicks} 123456 789 18446744073709551615\n`;
}

test("start ticks are field 22 even when the command name holds spaces and parentheses", () => {
  assert.equal(parseStartTicks(statLine("node", 987654)), 987654);
  assert.equal(parseStartTicks(statLine("a b) c (d", 31337)), 31337);
  assert.equal(parseStartTicks(statLine(") ) )", 5)), 5);
  assert.equal(parseStartTicks("garbage"), 0);
  assert.equal(parseStartTicks("1 (x) S 1"), 0);
});

test("readProcessStartTicks: this process, a child, and pids that do not exist", async () => {
  const own = readProcessStartTicks(process.pid);
  assert.ok(own > 0);
  assert.equal(readProcessStartTicks(process.pid), own, "stable for one process");
  assert.equal(readProcessStartTicks(0), 0);
  assert.equal(readProcessStartTicks(-1), 0);
  assert.equal(readProcessStartTicks(2 ** 22 + 1), 0, "above pid_max");

  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 5000)"], { stdio: "ignore" });
  try {
    await new Promise((resolve) => child.once("spawn", resolve));
    const childTicks = readProcessStartTicks(child.pid!);
    assert.ok(childTicks >= own, "a later process started later");
  } finally {
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
  }
  assert.equal(readProcessStartTicks(child.pid!), 0, "a reaped process has no start time");
});
