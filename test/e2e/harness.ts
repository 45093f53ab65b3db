// Real processes for the end-to-end tests: the `allocwatch` CLI (server, smi) and demo workload
// processes, located relative to this compiled file so the tests run from any output folder.
import { type ChildProcess, type ChildProcessByStdio, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { after } from "node:test";
import { fileURLToPath } from "node:url";
import type { AllocationsResponse, SummaryResponse } from "../../src/server/api-types.js";
import { waitFor as poll } from "../support/wait-for.js";

export const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
export const DEMO_PROCESS = fileURLToPath(new URL("../../src/demo/process-main.js", import.meta.url));

/** A scratch folder removed by `cleanup()`. */
export function scratch(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "allocwatch-e2e-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A test file's scratch folder and the processes it starts: after the file's tests, every process still
 * running is SIGKILLed and awaited, and the folder removed (a failed assertion must not leave processes).
 */
export function processScope(): { dir: string; procs: Proc[] } {
  const { dir, cleanup } = scratch();
  const procs: Proc[] = [];
  after(async () => {
    for (const p of procs) p.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.exited));
    cleanup();
  });
  return { dir, procs };
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Polls `probe` until it returns a value other than undefined, or throws with `what` after `timeoutMs`.
 * A probe that throws counts as "not yet" (a server still starting refuses connections); the last such
 * error is shown if the deadline passes.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  let last: unknown;
  const found = await poll(
    async () => {
      try {
        return await probe();
      } catch (err) {
        last = err;
        return undefined;
      }
    },
    { what, timeoutMs, intervalMs: 25, detail: () => (last ? String(last) : undefined) },
  );
  return found as T;
}

/** A child process with its output lines collected. */
export class Proc {
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly listeners = new Set<() => void>();

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      this.lines.push(line);
      for (const listener of this.listeners) listener();
    });
    createInterface({ input: child.stderr! }).on("line", (line) => this.stderr.push(line));
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The first stdout line matching `test`, waiting up to `timeoutMs`. */
  line(test: (line: string) => boolean, timeoutMs: number): Promise<string> {
    const found = this.lines.find(test);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(
          new Error(
            `pid ${this.pid}: no matching line in ${timeoutMs} ms; stdout: ${this.lines.join(" | ")}; stderr: ${this.stderr.join(" | ")}`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        const line = this.lines.find(test);
        if (line === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(line);
      };
      this.listeners.add(check);
    });
  }

  /** The demo process's JSON milestone `event` (started, progress, finished, stopped). */
  async milestone(event: string, timeoutMs: number): Promise<Record<string, number | string | boolean>> {
    const line = await this.line((l) => l.startsWith("{") && JSON.parse(l).event === event, timeoutMs);
    return JSON.parse(line);
  }

  kill(signal: NodeJS.Signals = "SIGTERM"): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** Env without the developer's own server settings. */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env["ALLOCWATCH_SOCKET"];
  delete env["ALLOCWATCH_HTTP"];
  return env;
}

export interface ServerProc extends Proc {
  url: string;
}

/** `allocwatch serve` on `socket` and 127.0.0.1:`port`; resolves once its HTTP API answers. */
export async function startServerProcess(
  socket: string,
  port: number,
  extra: string[] = [],
): Promise<ServerProc> {
  const proc = new Proc(
    spawn(
      process.execPath,
      [CLI, "serve", "--socket", socket, "--http", `127.0.0.1:${port}`, "--quiet", "--no-history", ...extra],
      {
        env: cleanEnv(),
        stdio: ["ignore", "pipe", "pipe"],
      },
    ),
  ) as ServerProc;
  proc.url = `http://127.0.0.1:${port}`;
  await waitFor("the server's HTTP API", 10_000, async () => {
    if (proc.child.exitCode !== null) throw new Error(`server exited: ${proc.stderr.join("\n")}`);
    const res = await fetch(`${proc.url}/healthz`);
    return res.ok ? true : undefined;
  });
  return proc;
}

/** One demo workload process (src/demo/process-main.ts) reporting to `socket`. */
export function startDemoProcess(socket: string, args: string[]): Proc {
  return new Proc(
    spawn(process.execPath, [DEMO_PROCESS, "--socket", socket, ...args], {
      env: cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
}

/**
 * A demo process that keeps allocating and freeing on two devices with one worker, a step every
 * `stepMs` (it runs until killed): the steady workload the monitors' tests watch.
 */
export function startSteadyDemo(socket: string, index: number, stepMs: number): Proc {
  return startDemoProcess(socket, [
    ...["--index", String(index), "--devices", "2", "--workers", "1"],
    ...["--step-ms", String(stepMs)],
  ]);
}

/**
 * A server on `scope.dir`/`socketName` and one steady demo (index 0, a step every 50 ms), resolved once the
 * demo has started; both are pushed onto `scope.procs`, so the scope ends them.
 */
export async function startServerWithSteadyDemo(
  scope: { dir: string; procs: Proc[] },
  socketName: string,
): Promise<{ server: ServerProc; client: Proc }> {
  const socket = join(scope.dir, socketName);
  const server = await startServerProcess(socket, await freePort());
  scope.procs.push(server);
  const client = startSteadyDemo(socket, 0, 50);
  scope.procs.push(client);
  await client.milestone("started", 15_000);
  return { server, client };
}

/** How a child process ended, and everything it wrote. */
export interface ChildEnded {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Collects a child's stdout and stderr (both piped) until it closes. */
export function childEnded(child: ChildProcessByStdio<null, Readable, Readable>): Promise<ChildEnded> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c;
    });
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs the CLI to completion. */
export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = cleanEnv(),
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await childEnded(
    spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] }),
  );
  return { code, stdout, stderr };
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export const summaryOf = (server: { url: string }) =>
  getJson<SummaryResponse>(`${server.url}/api/v1/summary`);

/** A process's live set as the demo process wrote it (the allocator's snapshot per device). */
export interface LiveSetFile {
  pid: number;
  sessionId: string;
  devices: {
    id: number;
    seq: number;
    allocations: { allocationId: number; memoryType: number; address: number; sizeBytes: number }[];
  }[];
}

export function readLiveSet(path: string): LiveSetFile {
  return JSON.parse(readFileSync(path, "utf8")) as LiveSetFile;
}

const TYPE_NAMES = ["DRAM", "L1", "SYSTEM_MEMORY", "L1_SMALL", "TRACE", "CB", "KERNEL"] as const;

/** "id type address size" lines, sorted: the form two live sets are compared in. */
function canonical(
  list: { allocationId: number; memoryType: string; address: number; sizeBytes: number }[],
): string[] {
  return list.map((a) => `${a.allocationId} ${a.memoryType} ${a.address} ${a.sizeBytes}`).sort();
}

/**
 * Differences between the live sets the processes wrote and the server's view: per (session, device)
 * allocations (ids, types, addresses, sizes), per process and device totals, device totals. Empty = exact.
 */
export async function compareWithServer(server: { url: string }, liveSets: LiveSetFile[]): Promise<string[]> {
  const problems: string[] = [];
  const summary = await summaryOf(server);
  const deviceTotals = new Map<number, Record<string, { used: number; allocations: number }>>();
  for (const live of liveSets) {
    const owner = summary.processes.find((p) => p.sessionId === live.sessionId);
    if (owner === undefined) {
      problems.push(`session of pid ${live.pid} missing from the summary`);
      continue;
    }
    for (const device of live.devices) {
      const expected = device.allocations.map((a) => ({ ...a, memoryType: TYPE_NAMES[a.memoryType]! }));
      const answer = await getJson<AllocationsResponse>(
        `${server.url}/api/v1/devices/${device.id}/allocations?session=${live.sessionId}&limit=10000&sort=address`,
      );
      if (answer.total !== expected.length) {
        problems.push(
          `pid ${live.pid} device ${device.id}: server has ${answer.total} allocations, process ${expected.length}`,
        );
      }
      const mine = canonical(expected);
      const theirs = canonical(answer.allocations);
      const missing = mine.filter((x) => !theirs.includes(x));
      const extra = theirs.filter((x) => !mine.includes(x));
      if (missing.length > 0 || extra.length > 0) {
        problems.push(
          `pid ${live.pid} device ${device.id}: missing on server [${missing.slice(0, 5).join("; ")}] (${missing.length}), ` +
            `extra on server [${extra.slice(0, 5).join("; ")}] (${extra.length})`,
        );
      }
      const used = owner.devices.find((d) => d.id === device.id)?.used;
      const totals = deviceTotals.get(device.id) ?? {};
      deviceTotals.set(device.id, totals);
      for (const type of TYPE_NAMES) {
        const bytes = expected.filter((a) => a.memoryType === type).reduce((n, a) => n + a.sizeBytes, 0);
        const count = expected.filter((a) => a.memoryType === type).length;
        totals[type] ??= { used: 0, allocations: 0 };
        const t = totals[type];
        t.used += bytes;
        t.allocations += count;
        if ((used?.[type] ?? 0) !== bytes) {
          problems.push(
            `pid ${live.pid} device ${device.id} ${type}: server says ${used?.[type]} B used, process ${bytes} B`,
          );
        }
      }
    }
  }
  for (const [id, totals] of deviceTotals) {
    const device = summary.devices.find((d) => d.id === id);
    for (const type of TYPE_NAMES) {
      const got = device?.memory[type];
      const want = totals[type]!;
      if (got?.used !== want.used || got?.allocations !== want.allocations) {
        problems.push(
          `device ${id} ${type}: server ${got?.used} B in ${got?.allocations}, processes ${want.used} B in ${want.allocations}`,
        );
      }
    }
  }
  return problems;
}
