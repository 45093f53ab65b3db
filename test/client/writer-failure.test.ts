// The client's writer thread failing, for real (docs/DESIGN.md decision 5: tracking is harmless): a thread
// that throws, exits, is terminated, or cannot start. The workload's record() goes on untouched, the client
// reports a WriterFailedError, marks every device dirty, starts a new writer after its backoff, and the real
// server's state is exact once the snapshots have healed it; a writer that keeps failing turns tracking off.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { afterEach, test } from "node:test";
import { fileURLToPath } from "node:url";
import { AllocationClient } from "../../src/client/allocation-client.js";
import { type ClientError, ClientErrorCode, WriterFailedError } from "../../src/client/errors.js";
import { clientTestHooks, type WriterFault } from "../../src/client/test-hooks.js";
import { MAX_WRITER_RESTARTS } from "../../src/client/writer-restarts.js";
import type { WriterThread } from "../../src/client/writer-thread.js";
import { type AllocationsResponse, API_MEMORY_TYPES } from "../../src/server/api-types.js";
import { startTestServer, type TestServer } from "../server/test-server.js";
import { waitFor } from "../support/wait-for.js";
import { DeviceWorkload, tick } from "./device-workload.js";
import { WRITER_FAILURE_CHILD_MARKER } from "./writer-failure-child.js";

const CHILD = fileURLToPath(new URL("./writer-failure-child.js", import.meta.url));

afterEach(() => {
  clientTestHooks.writerStartFaults = [];
  clientTestHooks.onWriterStarted = undefined;
});

/** Every writer thread clients start from now on, in order. */
function watchWriters(): WriterThread[] {
  const threads: WriterThread[] = [];
  clientTestHooks.onWriterStarted = (thread) => threads.push(thread);
  return threads;
}

function startClient(
  server: TestServer,
  workload: DeviceWorkload,
  onError: (error: ClientError) => void,
): AllocationClient {
  const client = new AllocationClient({
    socketPath: server.socketPath,
    ...workload.clientOptions(),
    reconnectInitialMs: 10,
    reconnectMaxMs: 50,
    onError,
  });
  workload.attach(client);
  return client;
}

/** The server's live allocations of this client's session on device `deviceId`, as comparable strings. */
async function serverLive(server: TestServer, sessionId: string, deviceId: number): Promise<string[]> {
  const { status, body } = await server.get(
    `/api/v1/devices/${deviceId}/allocations?session=${sessionId}&limit=10000&sort=address`,
  );
  assert.equal(status, 200);
  return (body as AllocationsResponse).allocations
    .map((a) => `${a.allocationId} ${a.memoryType} ${a.address} ${a.sizeBytes}`)
    .sort();
}

/** The allocator's live set of workload device index `d`, in serverLive's form. */
function allocatorLive(workload: DeviceWorkload, d: number): string[] {
  return [...workload.liveSet(d).live.values()]
    .map((a) => `${a.allocationId} ${API_MEMORY_TYPES[a.memoryType]} ${a.address} ${a.sizeBytes}`)
    .sort();
}

/** Waits until the server holds exactly the allocator's live set on every device of the workload. */
async function assertServerExact(server: TestServer, client: AllocationClient, workload: DeviceWorkload) {
  for (const d of workload.devices.map((_, i) => i)) {
    const expected = allocatorLive(workload, d);
    let seen: string[] = [];
    await waitFor(
      async () => {
        seen = await serverLive(server, client.sessionId, workload.devices[d]!.id);
        return seen.length === expected.length && seen.every((s, i) => s === expected[i]);
      },
      {
        what: `the server's device ${d} to equal the allocator's`,
        detail: () => `server ${seen.length} live, allocator ${expected.length}`,
      },
    );
  }
}

for (const fault of ["throw", "exit", "terminate"] as WriterFault[]) {
  test(`writer thread fails mid-run (${fault}): record() goes on, the failure is reported, every device is dirty, a new writer heals the real server exactly`, async () => {
    const threads = watchWriters();
    const server = await startTestServer();
    const workload = new DeviceWorkload([0, 1]);
    const errors: ClientError[] = [];
    const dirtyAtReport: number[][] = [];
    const client: AllocationClient = startClient(server, workload, (error) => {
      errors.push(error);
      if (error instanceof WriterFailedError) dirtyAtReport.push(client.dirtyDevices());
    });
    try {
      await waitFor(() => client.state === "ready", { what: "the client to be ready" });
      workload.churn(2000);
      await client.flush();
      await assertServerExact(server, client, workload);

      threads[0]!.inject(fault);
      // The workload keeps allocating while the writer dies and a new one starts: record() never throws.
      let recorded = 0;
      await waitFor(
        async () => {
          workload.churn(100);
          recorded += 100;
          await tick(1);
          return client.counters.writerFailures === 1 && client.state === "ready";
        },
        { what: "the writer to fail and a new one to connect", detail: () => client.state },
      );
      assert.ok(recorded > 0);
      const failures = errors.filter((e) => e instanceof WriterFailedError);
      assert.equal(failures.length, 1, errors.map((e) => e.message).join("; "));
      const failure = failures[0] as WriterFailedError;
      assert.equal(failure.code, ClientErrorCode.WRITER_FAILED);
      assert.equal(failure.restarting, true);
      assert.equal(failure.failures, 1);
      assert.match(failure.message, /writer thread failed: .*restarting it/);
      assert.deepEqual(
        dirtyAtReport[0],
        [0, 1],
        "every device was marked dirty when the failure was reported",
      );
      assert.equal(threads.length, 2, "one new writer thread");
      assert.equal(threads[0]!.alive, false);
      assert.equal(threads[1]!.alive, true);

      workload.churn(2000);
      await client.flush();
      await assertServerExact(server, client, workload);
      assert.deepEqual(client.dirtyDevices(), [], "the snapshots healed every device");
      assert.equal(client.counters.writerFailures, 1);
      assert.ok(client.counters.resyncs >= 2, "each device was resynced on the new writer's connection");
    } finally {
      await client.close();
      await server.stop();
    }
  });
}

test("writer threads that fail to start (their entry throws; new Worker throws) are reported and replaced; the constructor never throws", async () => {
  const threads = watchWriters();
  clientTestHooks.writerStartFaults = ["throw", "spawn"];
  const server = await startTestServer();
  const workload = new DeviceWorkload([0]);
  const errors: ClientError[] = [];
  const client = startClient(server, workload, (error) => errors.push(error));
  try {
    // Recorded while no writer runs: queued or dropped and counted, never thrown.
    workload.churn(500);
    await waitFor(() => client.state === "ready", { what: "the third writer to connect" });
    const failures = errors.filter((e): e is WriterFailedError => e instanceof WriterFailedError);
    assert.deepEqual(
      failures.map((e) => [e.failures, e.restarting]),
      [
        [1, true],
        [2, true],
      ],
    );
    assert.match(String((failures[1]!.cause as Error).message), /allocwatch-writer-start-fault/);
    assert.equal(threads.length, 2, "the writer whose entry threw, and the one that runs (new Worker threw)");
    workload.churn(1000);
    await client.flush();
    await assertServerExact(server, client, workload);
    assert.equal(client.counters.writerFailures, 2);
  } finally {
    await client.close();
    await server.stop();
  }
});

test(`a writer that keeps failing: after ${MAX_WRITER_RESTARTS} restarts tracking is off (closed), record() drops and counts, nothing is queued, close() resolves`, async () => {
  const threads = watchWriters();
  const starts = MAX_WRITER_RESTARTS + 1;
  clientTestHooks.writerStartFaults = Array.from({ length: starts }, (_, i) =>
    i % 2 === 0 ? "throw" : "spawn",
  );
  const server = await startTestServer();
  const workload = new DeviceWorkload([0]);
  const errors: ClientError[] = [];
  const states: string[] = [];
  const client = new AllocationClient({
    socketPath: server.socketPath,
    ...workload.clientOptions(),
    reconnectInitialMs: 5,
    reconnectMaxMs: 20,
    onError: (error) => errors.push(error),
    onStateChange: (state) => states.push(state),
  });
  workload.attach(client);
  try {
    await waitFor(() => client.state === "closed", { what: "tracking to be turned off" });
    const failures = errors.filter((e): e is WriterFailedError => e instanceof WriterFailedError);
    assert.equal(failures.length, starts);
    assert.deepEqual(
      failures.map((e) => e.restarting),
      [...Array(starts - 1).fill(true), false],
    );
    assert.match(failures.at(-1)!.message, /tracking is off/);
    assert.equal(
      threads.length,
      Math.ceil(starts / 2),
      "the threads whose entry threw (the others never began)",
    );
    assert.ok(threads.every((t) => !t.alive));
    const droppedBefore = client.counters.dropped;
    const events = 200_000;
    for (let seq = 1; seq <= events; seq++) client.record(1, 0, 0, 1e9 + seq, 1e9 + seq, seq * 64, 64, seq);
    assert.equal(client.counters.dropped - droppedBefore, events, "every event dropped and counted");
    assert.equal(client.counters.queueBytes, 0, "nothing queued");
    assert.deepEqual(client.dirtyDevices(), [0]);
    await client.close({ timeoutMs: 1000 });
    assert.equal(client.state, "closed");
    assert.equal(states.at(-1), "closed");
    assert.equal(
      states.filter((s) => s === "closed").length,
      1,
      "close() after tracking went off changes nothing",
    );
    assert.equal(client.counters.writerFailures, starts);
  } finally {
    await client.close();
    await server.stop();
  }
});

for (const fault of ["throw", "exit"] as const) {
  test(`a process whose writer thread fails (${fault}) neither crashes nor hangs: it records on and exits by itself`, async () => {
    const server = await startTestServer();
    try {
      const child = spawn(process.execPath, [CHILD, WRITER_FAILURE_CHILD_MARKER, server.socketPath, fault], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let stdout = "";
      child.stdout.on("data", (chunk) => {
        stdout += chunk;
      });
      const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      clearTimeout(killer);
      assert.equal(code, 0, `exited by itself with 0, not killed by the 20 s guard: ${stdout}`);
      assert.match(stdout, /AWC_WRITER_FAILED restarting/);
      assert.match(stdout, /recorded 100000 after the failure/);
    } finally {
      await server.stop();
    }
  });
}
