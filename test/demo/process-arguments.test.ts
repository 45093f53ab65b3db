// The demo workload process refuses arguments it cannot honour with exit code 2 and a line naming the
// flag, before it creates a device or connects anywhere.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { DEMO_PROCESS } from "../e2e/harness.js";

/** Runs the process to its end; stderr whole (read until the pipe closes, not just until exit). */
function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [DEMO_PROCESS, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stderr })));
}

test("--first-device must leave room for --devices below 65536, and be a whole number", {
  timeout: 30_000,
}, async () => {
  for (const args of [
    ["--first-device", "65535", "--devices", "2"],
    ["--first-device", "1.5"],
    ["--first-device=-1"],
  ]) {
    const { code, stderr } = await run(args);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.match(stderr, /--first-device must be/, args.join(" "));
  }
});
