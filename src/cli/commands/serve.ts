import { join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT } from "../../server/api-types.js";
import {
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_UID,
} from "../../server/connection-admission.js";
import { InvalidOptionError, ServerError } from "../../server/errors.js";
import { formatDuration } from "../../server/history/duration.js";
import { defaultHistoryPath } from "../../server/history/history-path.js";
import { type HistoryServeFlags, historyServeOptions } from "../../server/history/history-serve-flags.js";
import { DEFAULT_HISTORY_RETENTION_MS } from "../../server/history/history-store.js";
import { type HostServeFlags, hostServeOptions } from "../../server/host-serve-flags.js";
import { parseHttpAddress } from "../../server/http-api.js";
import { parseAllowedHost } from "../../server/http-host-policy.js";
import {
  DEFAULT_LEGACY_OPTIONS,
  parseLegacyFrame,
  parseReorderWindowMs,
} from "../../server/legacy/options.js";
import {
  type LegacyServeFlags,
  legacyServeOptions,
  parseLegacyDeviceFlag,
  parseLegacyMaxConnectionsFlag,
  parseLegacyMaxReplyBytesFlag,
  parseLegacyReplyPauseBytesFlag,
} from "../../server/legacy/serve-flags.js";
import { MAX_SOCKET_PATH_BYTES } from "../../server/listener.js";
import {
  DEFAULT_MAX_LIVE_ALLOCATIONS,
  DEFAULT_MAX_LIVE_ALLOCATIONS_PER_SESSION,
} from "../../server/live-limit.js";
import { DEFAULT_MAX_PROCESS_SERIES } from "../../server/metrics/prometheus-metrics.js";
import {
  DEFAULT_BUFFER_BUDGET_BYTES,
  DEFAULT_HELLO_TIMEOUT_MS,
  DEFAULT_MAX_OUTBOUND_BYTES,
  MAX_INGEST_THREADS,
} from "../../server/options.js";
import { DEFAULT_SERIES_BUDGET_BYTES } from "../../server/series/usage-series.js";
import { type RunningServer, startServer } from "../../server/server.js";
import { DEFAULT_STREAM_LIMITS } from "../../server/stream/live-stream.js";
import { stopRequests } from "../stop-requests.js";

interface ServeOptions extends LegacyServeFlags, HostServeFlags, HistoryServeFlags {
  socket?: string;
  http?: string;
  httpPublic?: boolean;
  httpAllowHost?: string[];
  graceMs?: number;
  gapTimeoutMs?: number;
  maxConnections?: number;
  maxConnectionsPerUid?: number;
  helloTimeoutMs?: number;
  bufferBudgetBytes?: number;
  maxOutboundBytes?: number;
  maxDevicesPerSession?: number;
  maxContextsPerSession?: number;
  maxLiveAllocations?: number;
  maxLiveAllocationsPerSession?: number;
  maxSessionsPerProcess?: number;
  maxSessions?: number;
  reorderBudgetBytes?: number;
  maxStreamClients?: number;
  streamMaxUnsentBytes?: number;
  seriesBudgetBytes?: number;
  ingestThreads?: number | "auto";
  maxMetricsProcessSeries?: number;
  verbose?: boolean;
  quiet?: boolean;
}

function parseMs(value: string): number {
  const ms = Number(value);
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw new InvalidArgumentError("use a whole number of milliseconds, e.g. 2000");
  return ms;
}

function parseCount(value: string): number {
  const count = Number(value);
  if (!Number.isSafeInteger(count) || count < 1)
    throw new InvalidArgumentError("use a whole number >= 1, e.g. 64");
  return count;
}

function parseThreads(value: string): number | "auto" {
  if (value === "auto") return "auto";
  const count = Number(value);
  if (!Number.isSafeInteger(count) || count < 1)
    throw new InvalidArgumentError("use a whole number >= 1, or auto (one fewer than the cores), e.g. 4");
  return count;
}

function parseBytesOrZero(value: string): number {
  const bytes = Number(value);
  if (!Number.isSafeInteger(bytes) || bytes < 0)
    throw new InvalidArgumentError("use a whole number of bytes (0 turns it off), e.g. 67108864");
  return bytes;
}

function parseBytes(value: string): number {
  const bytes = Number(value);
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    throw new InvalidArgumentError("use a whole number of bytes, e.g. 1048576");
  return bytes;
}

/** `allocwatch serve`: the allocation server (Unix socket for clients, HTTP API for monitors). */
export function serveCommand(): Command {
  return new Command("serve")
    .description("run the allocation server: clients report on a Unix socket, monitors read the HTTP API")
    .option(
      "--socket <path>",
      "Unix socket path, at most " +
        `${MAX_SOCKET_PATH_BYTES} bytes (default $ALLOCWATCH_SOCKET, $XDG_RUNTIME_DIR/allocwatch.sock, /tmp/allocwatch-<uid>.sock)`,
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
      "--http-public",
      "allow --http on an address other machines can reach (0.0.0.0, a LAN address); logs a warning",
    )
    .option(
      "--http-allow-host <name>",
      "also answer HTTP requests whose Host is NAME (repeatable; default: only localhost, 127.0.0.1, " +
        "[::1] and the bound address, against DNS rebinding)",
      (v, previous: string[] | undefined) => [...(previous ?? []), cliArgument(() => parseAllowedHost(v))],
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
      "--max-connections <n>",
      `most client connections open at once; more are refused (default ${DEFAULT_MAX_CONNECTIONS})`,
      parseCount,
    )
    .option(
      "--max-connections-per-uid <n>",
      `most client connections open at once per user id (default ${DEFAULT_MAX_CONNECTIONS_PER_UID}; ` +
        "without peer credentials every connection counts as one user)",
      parseCount,
    )
    .option(
      "--hello-timeout-ms <ms>",
      `how long a new connection has to complete its HELLO, counted from connecting (default ${DEFAULT_HELLO_TIMEOUT_MS})`,
      parseMs,
    )
    .option(
      "--buffer-budget-bytes <bytes>",
      "bytes all client connections together may make the server hold (frames not yet complete, replies " +
        "not yet read); when full, a connection over its share is closed with SERVER_BUDGET_EXCEEDED " +
        `(default ${DEFAULT_BUFFER_BUDGET_BYTES} = 64 MiB)`,
      parseBytes,
    )
    .option(
      "--max-outbound-bytes <bytes>",
      `reply bytes that may wait unread for one client before its connection is dropped (default ${DEFAULT_MAX_OUTBOUND_BYTES} = 1 MiB)`,
      parseBytes,
    )
    .option(
      "--max-devices-per-session <n>",
      "most device ids one client process may announce in its HELLOs (default 64)",
      parseCount,
    )
    .option(
      "--max-contexts-per-session <n>",
      "most allocation contexts (operation names) one client process may define; past it a definition is dropped (default 4096)",
      parseCount,
    )
    .option(
      "--max-live-allocations <n>",
      "most live allocations the server holds over every process and device; an allocation past it is not " +
        "stored, counted, and its process and device shown over the limit until a snapshot makes them exact " +
        `again (default ${DEFAULT_MAX_LIVE_ALLOCATIONS}: ~480 MiB of server memory at ~60 bytes each)`,
      parseCount,
    )
    .option(
      "--max-live-allocations-per-session <n>",
      "most live allocations one client process holds over its devices, likewise " +
        `(default ${DEFAULT_MAX_LIVE_ALLOCATIONS_PER_SESSION}: ~120 MiB; at most --max-live-allocations)`,
      parseCount,
    )
    .option(
      "--max-sessions-per-process <n>",
      "most sessions one process may hold, connected or in their grace; past it its oldest idle one is released (default 16)",
      parseCount,
    )
    .option(
      "--max-sessions <n>",
      "most sessions the server holds; past it the oldest idle one is released (default 4096)",
      parseCount,
    )
    .option(
      "--reorder-budget-bytes <bytes>",
      "memory all sessions together may use for events waiting for a missing sequence number (default 67108864 = 64 MiB)",
      parseCount,
    )
    .option(
      "--max-stream-clients <n>",
      `most /api/v1/stream clients (dashboards, top) at once; one more is answered 503 (default ${DEFAULT_STREAM_LIMITS.maxClients})`,
      parseCount,
    )
    .option(
      "--stream-max-unsent-bytes <bytes>",
      "bytes a stream client may leave untaken when its next message is due; a slower reader is dropped " +
        `(default ${DEFAULT_STREAM_LIMITS.maxUnsentBytes} = 1 MiB)`,
      parseBytes,
    )
    .option(
      "--series-budget-bytes <bytes>",
      "memory for the 15-min used-bytes series of devices and processes (21,600 bytes per memory type of each); " +
        `past it a figure shows no buckets, devices served first; 0: no series (default ${DEFAULT_SERIES_BUDGET_BYTES} = 64 MiB)`,
      parseBytesOrZero,
    )
    .option(
      "--ingest-threads <n|auto>",
      "apply client events on n worker threads, each owning whole processes (sticky by pid); 1 applies them on " +
        "the main thread; auto: one fewer than the cores. Server-wide limits are shared out among the threads. " +
        `More threads help only with many busy processes on a many-core host (default 1, at most ${MAX_INGEST_THREADS})`,
      parseThreads,
    )
    .option(
      "--max-metrics-process-series <n>",
      "most allocwatch_process_memory_used_bytes series one /metrics scrape answers; the processes holding the " +
        `fewest bytes are left out past it (default ${DEFAULT_MAX_PROCESS_SERIES})`,
      parseCount,
    )
    .option(
      "--legacy-socket [path]",
      "also accept the original tt-metal allocation protocol on this socket (default /tmp/tt_allocation_server.sock)",
    )
    .option(
      "--legacy-frame <72|112|144|auto>",
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
    .option(
      "--tt-shm [dir]",
      "read the memory counters every tt-metal process writes to shared memory, tt_device_*_memory files in dir (default on, /dev/shm)",
    )
    .option("--no-tt-shm", "do not read tt-metal's shared-memory counters")
    .option(
      "--tt-shm-interval-ms <ms>",
      "how often the shared-memory counters are read (default 100 = 10 Hz)",
      parseCount,
    )
    .option(
      "--dev-root <dir>",
      "root under which /dev/tenstorrent, /sys/class/tenstorrent and /proc/driver/tenstorrent are read (default /)",
    )
    .option("--no-hardware", "do not look for Tenstorrent cards and the processes holding them")
    .option(
      "--hardware-interval-ms <ms>",
      "how often cards and their holders are looked up (default 1000)",
      parseCount,
    )
    .option(
      "--legacy-max-connections <n>",
      `most legacy connections open at once; a new one past it is closed at once (default ${DEFAULT_LEGACY_OPTIONS.maxConnections}; ` +
        "a tt-metal client refused this way dies of SIGPIPE, so keep it above the number of tt-metal processes)",
      (v) => cliArgument(() => parseLegacyMaxConnectionsFlag(v)),
    )
    .option(
      "--legacy-reply-pause-bytes <bytes>",
      `unsent reply bytes of a legacy connection past which it is not read until they drain (default ${DEFAULT_LEGACY_OPTIONS.replyPauseBytes} = 64 KiB)`,
      (v) => cliArgument(() => parseLegacyReplyPauseBytesFlag(v)),
    )
    .option(
      "--legacy-max-reply-bytes <bytes>",
      `unsent reply bytes of a legacy connection past which it is closed (default ${DEFAULT_LEGACY_OPTIONS.maxReplyBytes} = 1 MiB)`,
      (v) => cliArgument(() => parseLegacyMaxReplyBytesFlag(v)),
    )
    .option(
      "--history [path]",
      "keep history (memory in use per second, process lifetimes, anomalies, leak reports) in this SQLite file " +
        `(default on, ${defaultHistoryPath()}: $XDG_STATE_HOME/allocwatch/ or ~/.local/state/allocwatch/)`,
    )
    .option("--no-history", "keep no history (nothing is written to disk)")
    .option(
      "--history-retention <duration>",
      `how long history is kept, e.g. 7d, 12h, 90m; the file's size follows it (default ${formatDuration(DEFAULT_HISTORY_RETENTION_MS)})`,
    )
    .option("--verbose", "log every event")
    .option("--quiet", "log warnings and errors only")
    .action(async (options: ServeOptions) => {
      let server: RunningServer;
      let host: ReturnType<typeof hostServeOptions>;
      try {
        host = hostServeOptions(options);
        const history = historyServeOptions(options);
        server = await startServer({
          socketPath: options.socket,
          http:
            options.http ??
            nonEmpty(process.env["ALLOCWATCH_HTTP"]) ??
            `${DEFAULT_HTTP_HOST}:${DEFAULT_HTTP_PORT}`,
          httpPublic: options.httpPublic,
          httpAllowHosts: options.httpAllowHost,
          graceMs: options.graceMs,
          gapTimeoutMs: options.gapTimeoutMs,
          maxConnections: options.maxConnections,
          maxConnectionsPerUid: options.maxConnectionsPerUid,
          helloTimeoutMs: options.helloTimeoutMs,
          bufferBudgetBytes: options.bufferBudgetBytes,
          maxOutboundBytes: options.maxOutboundBytes,
          maxDevicesPerSession: options.maxDevicesPerSession,
          maxContextsPerSession: options.maxContextsPerSession,
          maxLiveAllocations: options.maxLiveAllocations,
          maxLiveAllocationsPerSession: options.maxLiveAllocationsPerSession,
          maxSessionsPerProcess: options.maxSessionsPerProcess,
          maxSessions: options.maxSessions,
          reorderBudgetBytes: options.reorderBudgetBytes,
          streamLimits: {
            ...(options.maxStreamClients !== undefined ? { maxClients: options.maxStreamClients } : {}),
            ...(options.streamMaxUnsentBytes !== undefined
              ? { maxUnsentBytes: options.streamMaxUnsentBytes }
              : {}),
          },
          seriesBudgetBytes: options.seriesBudgetBytes,
          ingestThreads: options.ingestThreads,
          maxMetricsProcessSeries: options.maxMetricsProcessSeries,
          verbose: options.verbose,
          legacy: legacyServeOptions(options),
          ...host,
          history,
          logLevel: options.quiet ? "warn" : "info",
        });
      } catch (error) {
        if (error instanceof ServerError) {
          process.stderr.write(`allocwatch serve: ${error.message}\n`);
          // 2: the command line (or environment) asks for something impossible; 1: it failed at runtime.
          process.exit(error instanceof InvalidOptionError ? 2 : 1);
        }
        throw error;
      }
      process.stdout.write(
        `allocwatch server ready` +
          (server.httpUrl !== undefined ? `: open ${server.httpUrl}/ (the dashboard)` : "") +
          `\n  clients connect to  ${server.socketPath}\n` +
          (server.httpUrl !== undefined
            ? `  HTTP API            ${server.httpUrl}/api/v1/summary\n` +
              `  look with           allocwatch smi --server ${server.httpUrl}\n`
            : "") +
          (server.legacy !== undefined ? `  legacy tt-metal     ${server.legacy.socketPath}\n` : "") +
          (server.history !== undefined
            ? `  history             ${server.history.path} (kept ${formatDuration(server.history.retentionMs)}; --no-history turns off)\n`
            : "") +
          (host.ttShm !== false
            ? `  tt-metal counters   ${host.ttShm.dir}/tt_device_*_memory (read-only; --no-tt-shm turns off)\n`
            : "") +
          (host.hardware !== false
            ? `  Tenstorrent cards   ${join(host.hardware.devRoot ?? "/", "dev/tenstorrent")} and who holds them (--no-hardware turns off)\n`
            : "") +
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
