// `allocwatch demo --leak 0`: the leaky process ends holding its leaked outputs, and a leak report
// appears whose DRAM bytes are those outputs, under the operation that made them (ttnn.matmul).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import type { LeaksResponse } from "../../src/server/api-types.js";
import {
  CLI,
  cleanEnv,
  freePort,
  getJson,
  Proc,
  processScope,
  startServerProcess,
  waitFor,
} from "../e2e/harness.js";

const { dir, procs } = processScope();

test("demo --leak: the leaky process's outputs become a leak report under ttnn.matmul", {
  timeout: 60_000,
}, async () => {
  const socket = join(dir, "server.sock");
  const server = await startServerProcess(socket, await freePort());
  procs.push(server);
  const demo = new Proc(
    spawn(
      process.execPath,
      [CLI, "demo", "--socket", socket, "--processes", "1", "--devices", "1", "--workers", "0"].concat([
        "--step-ms",
        "20",
        "--duration",
        "2",
        "--leak",
        "0",
      ]),
      { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] },
    ),
  );
  procs.push(demo);
  const intro = await demo.line((l) => l.includes("(pids "), 15_000);
  const pid = Number(/\(pids (\d+)\)/.exec(intro)![1]);
  const exit = await demo.exited;
  assert.equal(exit.code, 0, demo.stderr.join("\n"));
  assert.ok(
    demo.lines.some((l) => l.includes("allocwatch leaks")),
    demo.lines.join("\n"),
  );
  const report = await waitFor("the demo's leak report", 15_000, async () => {
    const { reports } = await getJson<LeaksResponse>(`${server.url}/api/v1/leaks?pid=${pid}`);
    return reports[0];
  });
  assert.equal(report.processName, "llama-decoder-leaky");
  assert.ok(report.bytes.DRAM > 0);
  // Only the leaked outputs are left (everything else was freed), all made by ttnn.matmul.
  assert.deepEqual(
    report.byContext.map((g) => g.context),
    ["ttnn.matmul"],
  );
  assert.equal(report.byContext[0]!.bytes.DRAM, report.bytes.DRAM);
  assert.ok(report.largest.every((a) => a.memoryType === "DRAM" && a.context === "ttnn.matmul"));
});
