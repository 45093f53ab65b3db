// The churn contract every native client's example honours (clients/c/examples/churn.c,
// clients/python/examples/churn.py, the C++ adapter's driver): run as
//   churn --socket PATH --threads T --ops N --devices D --hold-ms H
// it prints ONE JSON line {"pid": P, "events": E, "live": {"<device>": {"<MEMORY_TYPE>": bytes}}} after
// the churn, keeps that live set for H ms, then exits 0. These helpers run one and compare the server's
// view of its pid with what it printed.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { SummaryResponse } from "../../src/server/api-types.js";
import { waitFor } from "../support/wait-for.js";

export interface ChurnOptions {
  socket: string;
  threads: number;
  ops: number;
  devices: number;
  holdMs: number;
  /** Extra arguments after the standard ones. */
  extra?: string[];
}

/** The line a churn prints: its pid, events recorded, and live bytes per device and memory type name. */
export interface ChurnReport {
  pid: number;
  events: number;
  live: Record<string, Record<string, number>>;
}

export interface RunningChurn {
  child: ChildProcess;
  /** Resolves with the parsed report line (rejects if the child exits first). */
  report: Promise<ChurnReport>;
  /** Resolves with the exit code and everything written to stderr. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts `command` (e.g. [binary] or ["python3", "churn.py"]) with the churn arguments. */
export function startChurn(
  command: readonly string[],
  options: ChurnOptions,
  env = process.env,
): RunningChurn {
  const args = [
    ...command.slice(1),
    ...["--socket", options.socket, "--threads", String(options.threads), "--ops", String(options.ops)],
    ...["--devices", String(options.devices), "--hold-ms", String(options.holdMs)],
    ...(options.extra ?? []),
  ];
  const child = spawn(command[0]!, args, { stdio: ["ignore", "pipe", "pipe"], env });
  let stderr = "";
  child.stderr!.on("data", (chunk) => {
    stderr += chunk;
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.once("close", (code, signal) => resolve({ code, signal, stderr })),
  );
  const report = new Promise<ChurnReport>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      if (!line.startsWith("{")) return;
      try {
        resolve(JSON.parse(line) as ChurnReport);
      } catch (error) {
        reject(new Error(`churn printed a line that is not JSON: ${line} (${String(error)})`));
      }
    });
    void exit.then(({ code, signal, stderr: text }) =>
      reject(new Error(`churn exited (code ${code}, signal ${signal}) before its report; stderr: ${text}`)),
    );
  });
  return { child, report, exit };
}

/** The server's live bytes of `pid`, per device id and memory type name (types with 0 bytes left out). */
export function serverLiveOf(summary: SummaryResponse, pid: number): Record<string, Record<string, number>> {
  const live: Record<string, Record<string, number>> = {};
  for (const process of summary.processes) {
    if (process.pid !== pid) continue;
    for (const device of process.devices) {
      const key = String(device.id);
      live[key] ??= {};
      const types: Record<string, number> = live[key];
      for (const [type, bytes] of Object.entries(device.used)) {
        if (bytes !== 0) types[type] = (types[type] ?? 0) + bytes;
      }
    }
  }
  return live;
}

/** The printed live set without zero entries (what serverLiveOf gives for the same state). */
export function nonZero(live: ChurnReport["live"]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [device, types] of Object.entries(live)) {
    for (const [type, bytes] of Object.entries(types)) {
      if (bytes === 0) continue;
      out[device] ??= {};
      out[device][type] = bytes;
    }
  }
  return out;
}

/**
 * Waits (up to `timeoutMs`) until the server's view of the churn's pid equals its printed live set, then
 * asserts it, and that the server recorded no anomaly. `summary` fetches /api/v1/summary.
 */
export async function expectExact(
  summary: () => Promise<SummaryResponse>,
  report: ChurnReport,
  timeoutMs = 20_000,
): Promise<SummaryResponse> {
  const expected = nonZero(report.live);
  let last: SummaryResponse | undefined;
  try {
    await waitFor(
      async () => {
        last = await summary();
        return (
          JSON.stringify(sortKeys(serverLiveOf(last, report.pid))) === JSON.stringify(sortKeys(expected))
        );
      },
      { what: `the server's view of pid ${report.pid} to equal the churn's live set`, timeoutMs },
    );
  } catch {
    // Fall through to the assertion, which shows the difference.
  }
  assert.ok(last !== undefined, "no summary could be read");
  assert.deepEqual(sortKeys(serverLiveOf(last, report.pid)), sortKeys(expected));
  assert.deepEqual(last.anomalies, { total: 0, byKind: {} }, "anomalies");
  return last;
}

function sortKeys(live: Record<string, Record<string, number>>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const device of Object.keys(live).sort()) {
    out[device] = {};
    for (const type of Object.keys(live[device]!).sort()) out[device]![type] = live[device]![type]!;
  }
  return out;
}
