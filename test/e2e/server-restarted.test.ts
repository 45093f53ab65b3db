// docs/DESIGN.md invariants 3 and 5: the server killed (SIGKILL) mid-run and restarted on the same socket.
// The clients never block or throw; they reconnect, resync from their allocators, and the restarted
// server's view is exactly their live sets.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import {
  compareWithServer,
  freePort,
  processScope,
  readLiveSet,
  startDemoProcess,
  startServerProcess,
  waitFor,
} from "./harness.js";

const { dir, procs } = processScope();

test("server SIGKILLed and restarted mid-run: clients carry on, resync, and the view is exact", {
  timeout: 40_000,
}, async () => {
  const socket = join(dir, "server.sock");
  const port = await freePort();
  const first = await startServerProcess(socket, port);
  procs.push(first);
  const outputs = [join(dir, "live-0.json"), join(dir, "live-1.json")];
  const clients = outputs.map((out, i) =>
    startDemoProcess(socket, [
      "--index",
      String(i),
      "--devices",
      "2",
      "--workers",
      "2",
      "--step-ms",
      "20",
      "--steps",
      "120",
      "--progress-ms",
      "200",
      "--hold",
      "--live-set-out",
      out,
    ]),
  );
  procs.push(...clients);
  await Promise.all(clients.map((c) => c.milestone("progress", 20_000)));

  first.kill("SIGKILL");
  await first.exited;
  const stepsAtKill = clients.map((c) => c.lines.length);
  const progressed = (c: (typeof clients)[number], i: number) =>
    c.lines.length > stepsAtKill[i]! || c.lines.some((l) => l.includes('"finished"'));
  // The workloads keep running while no server exists (nothing blocks on tracking).
  // (On timeout the assertion below names the client that stalled.)
  await waitFor("both workloads to progress with no server", 10_000, async () =>
    clients.every(progressed) ? true : undefined,
  ).catch(() => undefined);
  for (const [i, c] of clients.entries()) assert.ok(progressed(c, i), `client ${i} stalled`);
  const second = await startServerProcess(socket, port);
  procs.push(second);

  await Promise.all(clients.map((c) => c.milestone("finished", 30_000)));
  const liveSets = outputs.map(readLiveSet);
  const problems = await waitFor("the restarted server to converge", 15_000, async () => {
    const found = await compareWithServer(second, liveSets);
    return found.length === 0 ? found : undefined;
  }).catch(() => compareWithServer(second, liveSets));
  assert.deepEqual(problems, []);

  // The second server started empty, so its exact view of both live sets is the proof that each client
  // reconnected and resynced. (Their "finished" line cannot say: on a loaded machine a workload may finish
  // its steps before the second server is up, and reconnect after printing it.)
  for (const c of clients) c.kill("SIGTERM");
  const exits = await Promise.all(clients.map((c) => c.exited));
  assert.deepEqual(
    exits.map((e) => e.code),
    [0, 0],
  );
  for (const c of clients) assert.deepEqual(c.stderr, [], "a client printed an error");
});
