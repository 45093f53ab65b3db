import { Command } from "commander";
import { describeDemoLine } from "../../demo/progress-line.js";
import { startDemo } from "../../demo/run-demo.js";
import { ApiRoute, DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT } from "../../server/api-types.js";
import { ServerError } from "../../server/errors.js";
import { type RunningServer, startServer } from "../../server/server.js";
import { addDemoOptions, type DemoCliOptions, demoOptions } from "./demo.js";

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
    let server: RunningServer;
    try {
      server = await startServer({
        ...(options.socket ? { socketPath: options.socket } : {}),
        http: options.http || process.env["ALLOCWATCH_HTTP"] || DEFAULT_HTTP,
        // Keep the terminal for the directions and the demo's progress: warnings and errors only.
        logLevel: "warn",
      });
    } catch (error) {
      if (error instanceof ServerError) throw new Error(`cannot start the server: ${error.message}`);
      throw error;
    }
    const fleet = startDemo({
      ...demoOptions(options, (line, child) => process.stdout.write(describeDemoLine(line, child) + "\n")),
      socketPath: server.socketPath,
    });
    const url = server.httpUrl ?? "";
    const address = url.replace(/^https?:\/\//, "");
    const smi = address === DEFAULT_HTTP ? "allocwatch smi" : `allocwatch smi --http ${address}`;
    const leak = options.leak.length > 0 ? `; leaking: process ${options.leak.join(", ")}` : "";
    process.stdout.write(
      [
        "allocwatch is running.",
        `  server socket  ${server.socketPath}   (clients: ALLOCWATCH_SOCKET=${server.socketPath})`,
        `  HTTP API       ${url}`,
        `  summary        ${url}${ApiRoute.SUMMARY}`,
        `  demo           ${options.processes} processes (pids ${fleet.children.map((c) => c.pid).join(", ")}), ` +
          `${options.devices} simulated ${options.preset} device(s) each${leak}`,
        `Run \`${smi}\` (or \`${smi} --watch\`) in another terminal. Ctrl+C stops everything.`,
        "",
      ].join("\n"),
    );
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      void fleet.stop();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    const exits = await fleet.exited;
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await server.close();
    const failed = exits.filter((e) => e.code !== 0 && e.signal !== "SIGTERM" && e.signal !== "SIGINT");
    for (const e of failed) {
      process.stderr.write(
        `allocwatch start: demo process ${e.index} (pid ${e.pid}) ended with ${e.signal ?? `code ${e.code}`}\n`,
      );
    }
    process.exitCode = failed.length > 0 ? 1 : 0;
  });
}
