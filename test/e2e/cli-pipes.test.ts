// The CLI in a pipeline whose reader stops early (`allocwatch smi --watch | head -2`): real processes,
// a real pipe whose read end this test closes after enough bytes. The command must end quietly (exit
// 0, nothing on stderr), and `start` must leave no demo process and no socket file behind; the same
// for `start` hung up on (SIGHUP, a closed terminal). Even a SIGKILLed start leaves no demo process.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { waitFor } from "../support/wait-for.js";
import {
  type ChildEnded,
  CLI,
  childEnded,
  cleanEnv,
  freePort,
  processScope,
  startServerProcess,
} from "./harness.js";

const { dir, procs } = processScope();

/**
 * Runs the CLI with its stdout on a pipe; once what it wrote satisfies `enough`, closes the pipe's read
 * end (as `head` does when it has its lines) and waits for the CLI to exit.
 */
function readThenClose(
  args: string[],
  enough: (stdout: string) => boolean,
  onChild: (child: ChildProcess) => void = () => {},
): Promise<ChildEnded> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: cleanEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  onChild(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk;
    if (enough(stdout)) child.stdout.destroy();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  // A process that never notices the closed pipe fails the test by its timeout, not by hanging it.
  return new Promise((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

const lines = (n: number) => (text: string) => text.split("\n").length > n;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

test("smi --watch | head -2 and smi --json --watch | head -c 300 end quietly with exit 0", {
  timeout: 30_000,
}, async () => {
  const server = await startServerProcess(join(dir, "smi.sock"), await freePort());
  procs.push(server);
  const table = await readThenClose(["smi", "--watch", "--interval", "50", "--server", server.url], lines(2));
  assert.deepEqual({ code: table.code, stderr: table.stderr }, { code: 0, stderr: "" }, table.stderr);
  const json = await readThenClose(
    ["smi", "--json", "--watch", "--interval", "50", "--server", server.url],
    (out) => out.length >= 300,
  );
  assert.deepEqual({ code: json.code, stderr: json.stderr }, { code: 0, stderr: "" }, json.stderr);
  assert.match(json.stdout, /^\{"schemaVersion":1,/);
});

test("in a shell: `smi | head -1` and `smi -l 1 | head -3` end quietly, smi's own status 0", {
  timeout: 30_000,
}, async () => {
  const server = await startServerProcess(join(dir, "smi-head.sock"), await freePort());
  procs.push(server);
  for (const [args, lineCount] of [
    ["smi", 1],
    ["smi -l 1", 3],
    ["smi --json -l 0.05", 3],
  ] as const) {
    // PIPESTATUS[0]: smi's own exit status, not head's.
    const script = `"${process.execPath}" "${CLI}" ${args} --server ${server.url} | head -${lineCount}; echo "smi exit \${PIPESTATUS[0]}" >&2`;
    const ended = await childEnded(
      spawn("bash", ["-c", script], { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] }),
    );
    assert.equal(ended.stderr, "smi exit 0\n", `${args}: ${ended.stderr}`);
    assert.equal(ended.stdout.split("\n").length - 1, lineCount, ended.stdout);
  }
});

test("demo | head -1 stops its workload processes and ends quietly", { timeout: 30_000 }, async () => {
  const socket = join(dir, "demo.sock");
  const server = await startServerProcess(socket, await freePort());
  procs.push(server);
  const ended = await readThenClose(
    ["demo", "--socket", socket, "--processes", "1", "--devices", "1", "--workers", "0", "--step-ms", "20"],
    lines(1), // the next line, the child's "started", meets the closed pipe
  );
  assert.deepEqual({ code: ended.code, stderr: ended.stderr }, { code: 0, stderr: "" }, ended.stderr);
  const pids = /pids ([\d, ]+)\)/.exec(ended.stdout)![1]!.split(", ").map(Number);
  assert.deepEqual(pids.filter(isRunning), [], "no workload process outlives the demo command");
});

/** `start` on a private socket and a free port, small and quick. */
async function startArgs(socket: string): Promise<string[]> {
  return [
    "start",
    "--processes",
    "2",
    "--devices",
    "1",
    "--workers",
    "1",
    "--step-ms",
    "20",
    "--socket",
    socket,
    "--http",
    `127.0.0.1:${await freePort()}`,
  ];
}

/** The demo processes' pids from start's directions. */
function demoPids(stdout: string): number[] {
  return /demo\s+\d+ processes \(pids ([\d, ]+)\)/.exec(stdout)![1]!.split(", ").map(Number);
}

test("start | head -3: exit 0, nothing on stderr, no demo process left, socket file removed", {
  timeout: 30_000,
}, async () => {
  const socket = join(dir, "start-pipe.sock");
  // Read up to the directions' demo line (it names the children), then close: the next line start
  // forwards from a child meets the closed pipe.
  const ended = await readThenClose(await startArgs(socket), (out) => /pids [\d, ]+\)/.test(out));
  assert.deepEqual({ code: ended.code, stderr: ended.stderr }, { code: 0, stderr: "" }, ended.stderr);
  const pids = demoPids(ended.stdout);
  assert.equal(pids.length, 2);
  assert.deepEqual(pids.filter(isRunning), [], "start stopped its demo processes before it ended");
  assert.equal(existsSync(socket), false, "start's server removed its socket");
});

test("start hung up on (SIGHUP): exit 0, no demo process left, socket file removed", {
  timeout: 30_000,
}, async () => {
  const socket = join(dir, "start-hup.sock");
  let start: ChildProcess | undefined;
  let hungUp = false;
  const ended = await readThenClose(
    await startArgs(socket),
    (out) => {
      // Hang up once it runs (its children named); keep reading until it ends.
      if (!hungUp && /pids [\d, ]+\)/.test(out)) {
        hungUp = true;
        start!.kill("SIGHUP");
      }
      return false;
    },
    (child) => {
      start = child;
    },
  );
  assert.deepEqual(
    { code: ended.code, signal: ended.signal, stderr: ended.stderr },
    { code: 0, signal: null, stderr: "" },
  );
  assert.deepEqual(demoPids(ended.stdout).filter(isRunning), []);
  assert.equal(existsSync(socket), false);
});

test("start SIGKILLed (no handler runs): its demo processes notice and end on their own", {
  timeout: 30_000,
}, async () => {
  const socket = join(dir, "start-kill.sock");
  let start: ChildProcess | undefined;
  const ended = await readThenClose(
    await startArgs(socket),
    (out) => {
      if (/pids [\d, ]+\)/.test(out)) start!.kill("SIGKILL");
      return false;
    },
    (child) => {
      start = child;
    },
  );
  assert.equal(ended.signal, "SIGKILL");
  const pids = demoPids(ended.stdout);
  // Their stdin, a pipe from start, closed with it: they finish in order (flush, close) and exit.
  await waitFor(() => pids.filter(isRunning).length === 0, {
    what: "the demo processes of a killed start to end",
    detail: () => `still running: ${pids.filter(isRunning).join(", ")}`,
  });
});
