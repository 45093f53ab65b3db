// Issue 9 finding 9, end to end: the server is stopped (SIGSTOP) three times for over a second while a
// process (three connections: main thread and two free-worker threads, eight devices) records at full
// speed, and resumed each time.
// The clients drop what their queues cannot hold and resync; the server reads each connection's backlog
// in whatever order. None of that is a data error: zero anomalies, and the view is exactly the processes'
// live sets. (Transport recoveries, counted apart, are expected.)
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
  summaryOf,
  waitFor,
} from "./harness.js";

const { dir, procs } = processScope();
/** How long the server stays stopped, each time: the scenario itself, not a wait for an outcome. */
const STOPPED_MS = 1200;
const STOPS = 3;

test("server stopped 3 x 1.2 s under full-speed load from worker threads: zero anomalies, exact view", {
  timeout: 60_000,
}, async (t) => {
  const socket = join(dir, "server.sock");
  const server = await startServerProcess(socket, await freePort());
  procs.push(server);
  // One process: enough to fill its queues and interleave three connections, light enough to share the
  // machine with the other end-to-end tests.
  const outputs = [join(dir, "live-0.json")];
  const clients = outputs.map((out, i) =>
    startDemoProcess(socket, [
      "--index",
      String(i),
      "--devices",
      "8",
      "--workers",
      "2",
      "--step-ms",
      "0",
      "--duration",
      "7",
      "--progress-ms",
      "200",
      "--hold",
      "--live-set-out",
      out,
    ]),
  );
  procs.push(...clients);
  const [client] = clients;
  for (let stop = 0; stop < STOPS; stop++) {
    // Each stop starts while the workload runs: after a progress line it printed since the last one.
    const seen = client!.lines.length;
    await waitFor("the workload to make progress", 20_000, async () =>
      client!.lines.slice(seen).some((l) => l.includes('"progress"')) ? true : undefined,
    );
    server.kill("SIGSTOP");
    await new Promise((resolve) => setTimeout(resolve, STOPPED_MS));
    server.kill("SIGCONT");
  }

  const finished = await Promise.all(clients.map((c) => c.milestone("finished", 30_000)));
  const liveSets = outputs.map(readLiveSet);
  const problems = await waitFor("the server to converge", 20_000, async () => {
    const found = await compareWithServer(server, liveSets);
    return found.length === 0 ? found : undefined;
  }).catch(() => compareWithServer(server, liveSets));
  const summary = await summaryOf(server);
  const context = JSON.stringify({
    clients: finished,
    anomalies: summary.anomalies,
    recoveries: summary.recoveries,
  });
  t.diagnostic(`recoveries: ${JSON.stringify(summary.recoveries)}`);
  assert.deepEqual(problems, [], context);
  assert.equal(summary.anomalies.total, 0, `anomalies under a stopped server: ${context}`);
  for (const c of clients) c.kill("SIGTERM");
  await Promise.all(clients.map((c) => c.exited));
});
