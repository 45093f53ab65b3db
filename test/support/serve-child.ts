// `allocwatch serve` as a child process, so that a test can kill, stop and restart it like a real server
// while a client keeps running.
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { SummaryResponse } from "../../src/server/api-types.js";
import { waitFor } from "../support/wait-for.js";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "cli", "main.js");

export interface ServerChild {
  child: ChildProcess;
  /** Its HTTP API base URL (an ephemeral port). */
  url: string;
  exit: Promise<unknown>;
  summary(): Promise<SummaryResponse>;
}

/**
 * Starts `serve` on `socket` (reading nothing of the host) with `flags` added; resolves once it prints its
 * HTTP address.
 */
export async function serveChild(socket: string, flags: readonly string[] = []): Promise<ServerChild> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      "serve",
      "--socket",
      socket,
      "--http",
      "127.0.0.1:0",
      "--quiet",
      "--no-tt-shm",
      "--no-hardware",
      "--no-history",
      ...flags,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (d) => {
    output += d;
  });
  child.stderr!.on("data", (d) => {
    output += d;
  });
  const exit = new Promise((resolve) => child.once("exit", resolve));
  const url = await waitFor(() => /(http:\/\/127\.0\.0\.1:\d+)\/api\/v1\/summary/.exec(output)?.[1], {
    what: "serve to print its HTTP API address",
    timeoutMs: 20_000,
    detail: () => output,
  });
  return {
    child,
    url,
    exit,
    async summary() {
      const response = await fetch(`${url}/api/v1/summary`);
      return (await response.json()) as SummaryResponse;
    },
  };
}

/** Ends the child (SIGTERM: an orderly stop) unless it has already exited. */
export async function stopChild(server: ServerChild): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill("SIGTERM");
  await server.exit;
}
