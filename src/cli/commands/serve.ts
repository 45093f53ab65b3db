import { Command, InvalidArgumentError } from "commander";
import { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT } from "../../server/api-types.js";
import { ServerError } from "../../server/errors.js";
import { parseHttpAddress } from "../../server/http-api.js";
import { parseLegacyFrame, parseReorderWindowMs } from "../../server/legacy/options.js";
import {
  type LegacyServeFlags,
  legacyServeOptions,
  parseLegacyDeviceFlag,
} from "../../server/legacy/serve-flags.js";
import { type RunningServer, startServer } from "../../server/server.js";
import { stopRequests } from "../stop-requests.js";

interface ServeOptions extends LegacyServeFlags {
  socket?: string;
  http?: string;
  graceMs?: number;
  gapTimeoutMs?: number;
  verbose?: boolean;
  quiet?: boolean;
}

function parseMs(value: string): number {
  const ms = Number(value);
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw new InvalidArgumentError("use a whole number of milliseconds, e.g. 2000");
  return ms;
}

/** `allocwatch serve`: the allocation server (Unix socket for clients, HTTP API for monitors). */
export function serveCommand(): Command {
  return new Command("serve")
    .description("run the allocation server: clients report on a Unix socket, monitors read the HTTP API")
    .option(
      "--socket <path>",
      "Unix socket path (default $ALLOCWATCH_SOCKET, $XDG_RUNTIME_DIR/allocwatch.sock, /tmp/allocwatch-<uid>.sock)",
    )
    .option(
      "--http <host:port>",
      `HTTP API address, port 0 = any (default ${DEFAULT_HTTP_HOST}:${DEFAULT_HTTP_PORT}, or $ALLOCWATCH_HTTP)`,
      (v) =>
        cliArgument(() => {
          parseHttpAddress(v);
          return v;
        }),
    )
    .option(
      "--grace-ms <ms>",
      "how long a disconnected live process may take to reconnect before its memory is released",
      parseMs,
    )
    .option(
      "--gap-timeout-ms <ms>",
      "how long a missing sequence number is awaited before a resync is requested",
      parseMs,
    )
    .option(
      "--legacy-socket [path]",
      "also accept the original tt-metal allocation protocol on this socket (default /tmp/tt_allocation_server.sock)",
    )
    .option(
      "--legacy-frame <112|144|auto>",
      "legacy frame size, or detect it per connection (default auto)",
      (v) => cliArgument(() => parseLegacyFrame(v)),
    )
    .option(
      "--legacy-device <ID=PRESET>",
      "capacities of a legacy device id (repeatable; FIRST-LAST=PRESET for a range)",
      (v, previous: LegacyServeFlags["legacyDevice"]) =>
        cliArgument(() => parseLegacyDeviceFlag(v, previous)),
    )
    .option(
      "--legacy-reorder-window <ms>",
      "heuristic: hold a legacy FREE of an unknown buffer this long for a late ALLOC (default 0 = off)",
      (v) => cliArgument(() => parseReorderWindowMs(v)),
    )
    .option("--verbose", "log every event")
    .option("--quiet", "log warnings and errors only")
    .action(async (options: ServeOptions) => {
      let server: RunningServer;
      try {
        server = await startServer({
          socketPath: options.socket,
          http:
            options.http ??
            nonEmpty(process.env["ALLOCWATCH_HTTP"]) ??
            `${DEFAULT_HTTP_HOST}:${DEFAULT_HTTP_PORT}`,
          graceMs: options.graceMs,
          gapTimeoutMs: options.gapTimeoutMs,
          verbose: options.verbose,
          legacy: legacyServeOptions(options),
          logLevel: options.quiet ? "warn" : "info",
        });
      } catch (error) {
        if (error instanceof ServerError) {
          process.stderr.write(`allocwatch serve: ${error.message}\n`);
          process.exit(1);
        }
        throw error;
      }
      process.stdout.write(
        `allocwatch server ready\n` +
          `  clients connect to  ${server.socketPath}\n` +
          (server.httpUrl !== undefined
            ? `  HTTP API            ${server.httpUrl}/api/v1/summary\n` +
              `  look with           allocwatch smi --server ${server.httpUrl}\n`
            : "") +
          (server.legacy !== undefined ? `  legacy tt-metal     ${server.legacy.socketPath}\n` : "") +
          `  stop with Ctrl+C\n`,
      );
      await new Promise<void>((resolve) => {
        const stopListening = stopRequests.listen(() => {
          // A second Ctrl+C while closing ends the server at once.
          stopListening();
          server.close().then(resolve, resolve);
        });
      });
      // 0, or 1 after an uncaught exception (stop-requests.ts).
      process.exit();
    });
}

/** Turns an option parser's InvalidOptionError into commander's usage error. */
function cliArgument<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
