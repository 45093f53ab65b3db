import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import type { Fleet } from "../../demo/fleet.js";
import { startDemo } from "../../demo/run-demo.js";
import { ApiRoute, DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT } from "../../server/api-types.js";
import { ServerError } from "../../server/errors.js";
import { type RunningServer, startServer } from "../../server/server.js";
import { stopRequests } from "../stop-requests.js";
import { addDemoOptions, type DemoCliOptions, demoOptions, devicesEach, printDemoLine } from "./demo.js";

interface StartOptions extends DemoCliOptions {
  http?: string;
}

const DEFAULT_HTTP = `${DEFAULT_HTTP_HOST}:${DEFAULT_HTTP_PORT}`;

/**
 * `allocwatch start` (what `npm start` runs): an allocation server in this process plus the demo's
 * workload processes reporting to it, and directions to the monitors.
 */
export function startCommand(): Command {
  return addDemoOptions(
    new Command("start")
      .description("run an allocation server with demo workload processes, and say where to look")
      .option("--socket <path>", "server socket (default $ALLOCWATCH_SOCKET or the per-user path)")
      .option("--http <host:port>", `HTTP API address (default ${DEFAULT_HTTP}, or $ALLOCWATCH_HTTP)`),
  ).action(async (options: StartOptions) => {
    // Listening from the first moment: a stop request at any point (Ctrl+C, kill, SIGHUP, `| head`
    // closing our output, an uncaught exception) ends in the one orderly shutdown below.
    let fleet: Fleet | undefined;
    const stopListening = stopRequests.listen(() => void fleet?.stop());
    // The demo's history lives as long as the demo: a temporary file, removed at the end.
    const historyDir = mkdtempSync(join(tmpdir(), "allocwatch-start-"));
    try {
      const server = await startOwnServer(options, join(historyDir, "history.sqlite"));
      try {
        if (stopRequests.cause !== undefined) return;
        fleet = startDemo({ ...demoOptions(options, printDemoLine), socketPath: server.socketPath });
        process.stdout.write(directions(options, server, fleet));
        const exits = await fleet.exited;
        const failed = exits.filter((e) => e.code !== 0 && e.signal !== "SIGTERM" && e.signal !== "SIGINT");
        for (const e of failed) {
          process.stderr.write(
            `allocwatch start: demo process ${e.index} (pid ${e.pid}) ended with ${e.signal ?? `code ${e.code}`}\n`,
          );
        }
        if (failed.length > 0) process.exitCode = 1;
      } finally {
        // Children first (they say goodbye to the server), then the server, which removes its socket.
        await fleet?.stop();
        await server.close();
      }
    } finally {
      stopListening();
      rmSync(historyDir, { recursive: true, force: true });
    }
  });
}

async function startOwnServer(options: StartOptions, historyPath: string): Promise<RunningServer> {
  try {
    return await startServer({
      history: { path: historyPath },
      ...(options.socket ? { socketPath: options.socket } : {}),
      http: options.http || process.env["ALLOCWATCH_HTTP"] || DEFAULT_HTTP,
      // Keep the terminal for the directions and the demo's progress: warnings and errors only.
      logLevel: "warn",
    });
  } catch (error) {
    if (error instanceof ServerError) throw new Error(`cannot start the server: ${error.message}`);
    throw error;
  }
}

function directions(options: StartOptions, server: RunningServer, fleet: Fleet): string {
  const url = server.httpUrl ?? "";
  const address = url.replace(/^https?:\/\//, "");
  const flag = address === DEFAULT_HTTP ? "" : ` --http ${address}`;
  const leak = options.leak.length > 0 ? `; leaking: process ${options.leak.join(", ")}` : "";
  return [
    `allocwatch is running: open ${url}/ (the dashboard)`,
    `  server socket  ${server.socketPath}   (clients: ALLOCWATCH_SOCKET=${server.socketPath})`,
    `  HTTP API       ${url}`,
    `  summary        ${url}${ApiRoute.SUMMARY}`,
    `  history        ${url}${ApiRoute.HISTORY} (\`allocwatch history\`; a temporary file, removed at exit)`,
    `  demo           ${options.processes} processes (pids ${fleet.children.map((c) => c.pid).join(", ")}), ` +
      `simulated ${options.preset}, ${devicesEach(options)}${leak}`,
    `Run \`allocwatch top${flag}\` (live) or \`allocwatch smi${flag}\` in another terminal. Ctrl+C stops everything.`,
    "",
  ].join("\n");
}
