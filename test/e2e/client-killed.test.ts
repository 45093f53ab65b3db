// docs/DESIGN.md invariant 5 (nothing stale): a client process killed with SIGKILL mid-run disappears from
// `allocwatch smi --json` within 1 s — its memory released at once, the other process's untouched. The
// suite's one reaping test with a real SIGKILL, the real clock and the real /proc liveness check; the grace
// period, GOODBYE, re-checks, the sweep and pid reuse run on an injected clock and liveness in
// test/server/reaper-grace-period.test.ts.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import type { SummaryResponse } from "../../src/server/api-types.js";
import {
  freePort,
  processScope,
  runCli,
  startServerProcess,
  startSteadyDemo,
  summaryOf,
  waitFor,
} from "./harness.js";

const { dir, procs } = processScope();

const holds = (summary: SummaryResponse, pid: number) => summary.processes.some((p) => p.pid === pid);

test("a SIGKILLed client's memory is gone from smi --json within 1 s", { timeout: 30_000 }, async () => {
  const socket = join(dir, "server.sock");
  const server = await startServerProcess(socket, await freePort());
  procs.push(server);
  const victim = startSteadyDemo(socket, 0, 20);
  const survivor = startSteadyDemo(socket, 1, 20);
  procs.push(victim, survivor);
  await Promise.all([victim.milestone("started", 15_000), survivor.milestone("started", 15_000)]);
  // Mid-run: both hold DRAM on the server.
  const before = await waitFor("both processes to hold memory", 10_000, async () => {
    const s = await summaryOf(server);
    const ok = [victim.pid, survivor.pid].every((pid) =>
      s.processes.some((p) => p.pid === pid && p.devices.some((d) => d.used.DRAM > 0)),
    );
    return ok ? s : undefined;
  });
  assert.ok(before.devices.every((d) => d.memory.DRAM.used > 0));

  victim.kill("SIGKILL");
  const killedAt = Date.now();
  const after = await waitFor("the killed process to disappear", 5_000, async () => {
    const s = await summaryOf(server);
    return holds(s, victim.pid) ? undefined : s;
  });
  const goneMs = Date.now() - killedAt;
  assert.ok(goneMs < 1000, `the killed process stayed ${goneMs} ms`);
  // Device totals are the survivor's alone now.
  for (const device of after.devices) {
    const own = after.processes.find((p) => p.pid === survivor.pid)!.devices.find((d) => d.id === device.id)!;
    assert.equal(device.memory.DRAM.used, own.used.DRAM);
  }
  assert.ok(after.processes.find((p) => p.pid === survivor.pid)!.devices[0]!.used.DRAM > 0);

  // And smi --json (the user's view) agrees.
  const smi = await runCli(["smi", "--json", "--server", server.url]);
  assert.equal(smi.code, 0, smi.stderr);
  const json = JSON.parse(smi.stdout) as { processes: { pid: number }[] };
  assert.deepEqual(
    json.processes.map((p) => p.pid),
    [survivor.pid],
  );
  assert.equal((await victim.exited).signal, "SIGKILL");
});
