import type { Socket } from "node:net";
import pino, { type Logger } from "pino";
import { DEFAULT_MAX_FRAME_BYTES } from "../protocol/frames.js";
import { MIN_MAX_FRAME_BYTES } from "../protocol/layout.js";
import { AnomalyLog, DEFAULT_RECENT_ANOMALIES } from "./anomaly-log.js";
import { DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT } from "./api-types.js";
import { Connection, ConnectionCounters } from "./connection.js";
import { DeviceCatalog } from "./device-catalog.js";
import { InvalidOptionError, ServerErrorCode } from "./errors.js";
import { type HttpAddress, type HttpApi, parseHttpAddress, startHttpApi } from "./http-api.js";
import { LegacyAdapter } from "./legacy/adapter.js";
import { type LegacyOptions, resolveLegacyOptions } from "./legacy/options.js";
import { defaultSocketPath, listenUnixSocket } from "./listener.js";
import { type ProcessLiveness, procLiveness } from "./process-liveness.js";
import { ServerQueries } from "./queries.js";
import { DEFAULT_REAPER_OPTIONS, Reaper } from "./reaper.js";
import { Registry } from "./registry.js";
import { DEFAULT_SEQUENCER_OPTIONS, SequencerCounters } from "./sequencer.js";
import type { SessionPeer } from "./session.js";
import { SessionTable } from "./session-table.js";
import { systemTimers, type TimerScheduler } from "./timers.js";

export const SERVER_VERSION = "0.1.0";
const ANOMALY_LOG_LINES_PER_S = 20;

export type LogLevel = "silent" | "error" | "warn" | "info" | "debug";

export interface ServerOptions {
  /** Unix socket path; default: defaultSocketPath() ($ALLOCWATCH_SOCKET, $XDG_RUNTIME_DIR, /tmp). */
  socketPath?: string;
  /** HTTP API address "host:port" (port 0 = any free port); false = no HTTP API. Default 127.0.0.1:7477. */
  http?: string | HttpAddress | false;
  /** Reconnect grace for an idle session whose process is alive, ms. Default 2000. */
  graceMs?: number;
  /** How long a missing sequence number is waited for before a resync is requested, ms. Default 1000. */
  gapTimeoutMs?: number;
  /**
   * Most events buffered per (session, device) while waiting for a missing one; power of two. The buffer
   * grows to this only while a connection lags (34 bytes per slot). Default 2^20.
   */
  reorderCapacity?: number;
  /** Period of the liveness sweep over all sessions, ms. Default 1000. */
  sweepIntervalMs?: number;
  /** Largest frame accepted and announced in WELCOME, bytes. Default and maximum 1 MiB. */
  maxFrameBytes?: number;
  /** How long a new connection may take to send HELLO, ms. Default 10000. */
  helloTimeoutMs?: number;
  /** Recent anomalies kept for the API. Default 256. */
  recentAnomalies?: number;
  /** Log level when no `logger` is given. Default "info". */
  logLevel?: LogLevel;
  /** Log every applied event (at debug level; implies logLevel "debug"). */
  verbose?: boolean;
  /** A ready logger (tests, embedding); otherwise pino writes JSON lines to stderr. */
  logger?: Logger;
  /** Also serve the original tt-metal protocol (src/server/legacy) with these options; absent = off. */
  legacy?: Partial<LegacyOptions>;
  /** Injected for tests: process liveness check and clock/timers. */
  liveness?: ProcessLiveness;
  timers?: TimerScheduler;
}

/** A server running in this process. */
export interface RunningServer {
  readonly socketPath: string;
  /** Bound HTTP address (real port when 0 was asked), undefined without HTTP API. */
  readonly httpAddress: HttpAddress | undefined;
  /** e.g. "http://127.0.0.1:7477", undefined without HTTP API. */
  readonly httpUrl: string | undefined;
  /** In-process access to the same answers the HTTP API gives. */
  readonly queries: ServerQueries;
  readonly sessions: SessionTable;
  readonly log: Logger;
  /** The legacy tt-metal protocol adapter, when `legacy` was given. */
  readonly legacy: LegacyAdapter | undefined;
  /** Stops accepting, sends ERROR(SERVER_SHUTTING_DOWN) to every connection, removes the socket. */
  close(): Promise<void>;
}

/**
 * Builds and starts the whole server: registry, sessions, reaper, Unix socket listener, HTTP API.
 * The CLI's `serve` command, the demo and the tests all start it through this one function.
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const graceMs = nonNegativeInteger(options.graceMs, DEFAULT_REAPER_OPTIONS.graceMs, "--grace-ms");
  const gapTimeoutMs = positiveInteger(
    options.gapTimeoutMs,
    DEFAULT_SEQUENCER_OPTIONS.gapTimeoutMs,
    "--gap-timeout-ms",
  );
  const sweepIntervalMs = positiveInteger(
    options.sweepIntervalMs,
    DEFAULT_REAPER_OPTIONS.sweepIntervalMs,
    "sweepIntervalMs",
  );
  const reorderCapacity = positiveInteger(
    options.reorderCapacity,
    DEFAULT_SEQUENCER_OPTIONS.reorderCapacity,
    "reorderCapacity",
  );
  if ((reorderCapacity & (reorderCapacity - 1)) !== 0 || reorderCapacity > 1 << 24) {
    throw new InvalidOptionError(`reorderCapacity must be a power of two up to 2^24, got ${reorderCapacity}`);
  }
  const maxFrameBytes = positiveInteger(options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, "maxFrameBytes");
  if (maxFrameBytes < MIN_MAX_FRAME_BYTES || maxFrameBytes > DEFAULT_MAX_FRAME_BYTES) {
    throw new InvalidOptionError(
      `maxFrameBytes must be in ${MIN_MAX_FRAME_BYTES}..${DEFAULT_MAX_FRAME_BYTES}, got ${maxFrameBytes}`,
    );
  }
  const helloTimeoutMs = positiveInteger(options.helloTimeoutMs, 10_000, "helloTimeoutMs");
  const recentAnomalies = nonNegativeInteger(
    options.recentAnomalies,
    DEFAULT_RECENT_ANOMALIES,
    "recentAnomalies",
  );
  const httpAddress =
    options.http === false
      ? undefined
      : typeof options.http === "string"
        ? parseHttpAddress(options.http)
        : (options.http ?? { host: DEFAULT_HTTP_HOST, port: DEFAULT_HTTP_PORT });
  const socketPath = options.socketPath ?? defaultSocketPath();
  const legacyOptions = options.legacy === undefined ? undefined : resolveLegacyOptions(options.legacy);
  if (socketPath === "") throw new InvalidOptionError("--socket must not be empty");

  const verbose = options.verbose === true;
  const log =
    options.logger ??
    pino(
      { level: verbose ? "debug" : (options.logLevel ?? "info"), base: { pid: process.pid } },
      // Synchronous: lines are never lost at exit, and even --verbose is a debugging mode, not a hot path.
      pino.destination({ dest: 2, sync: true }),
    );
  const timers = options.timers ?? systemTimers;
  const liveness = options.liveness ?? procLiveness;

  const anomalies = new AnomalyLog(recentAnomalies);
  const registry = new Registry(anomalies);
  const catalog = new DeviceCatalog(anomalies);
  const sequencerCounters = new SequencerCounters();
  const connectionCounters = new ConnectionCounters();
  const sessions = new SessionTable(
    {
      registry,
      anomalies,
      counters: sequencerCounters,
      timers,
      sequencerOptions: {
        reorderCapacity,
        gapTimeoutMs,
        maxSnapshotAllocations: DEFAULT_SEQUENCER_OPTIONS.maxSnapshotAllocations,
      },
    },
    catalog,
  );
  // A broken client can produce anomalies at event rate: log at most ANOMALY_LOG_LINES_PER_S lines a
  // second and say how many were left out (the API still counts every one).
  let anomalyWindowStartMs = Number.NEGATIVE_INFINITY;
  let anomalyLinesInWindow = 0;
  let anomalyLinesSuppressed = 0;
  anomalies.onRecord((a) => {
    const now = timers.nowMs();
    if (now - anomalyWindowStartMs >= 1000) {
      if (anomalyLinesSuppressed > 0)
        log.warn({ suppressed: anomalyLinesSuppressed }, "anomaly log lines suppressed");
      anomalyWindowStartMs = now;
      anomalyLinesInWindow = 0;
      anomalyLinesSuppressed = 0;
    }
    if (anomalyLinesInWindow++ < ANOMALY_LOG_LINES_PER_S) {
      log.warn({ anomaly: a.kind, sessionId: a.sessionId, pid: a.pid, deviceId: a.deviceId }, a.detail);
    } else {
      anomalyLinesSuppressed++;
    }
  });
  sessions.listen({
    opened: (s, reattached) =>
      log.info(
        { sessionId: s.sessionId, pid: s.pid, name: s.identity.processName, connections: s.connectionCount },
        reattached ? "connection joined session" : "session opened",
      ),
    idle: (s) => log.info({ sessionId: s.sessionId, pid: s.pid }, "session has no connection left"),
    released: (s, reason, allocations) =>
      log.info({ sessionId: s.sessionId, pid: s.pid, reason, allocations }, "session released"),
  });
  const reaper = new Reaper(sessions, liveness, timers, {
    graceMs,
    sweepIntervalMs,
    firstRecheckMs: DEFAULT_REAPER_OPTIONS.firstRecheckMs,
  });

  const connections = new Set<Connection>();
  const closedSockets = new Set<Promise<void>>();
  let shuttingDown = false;
  const onSocket = (socket: Socket) => {
    if (shuttingDown) {
      socket.destroy();
      return;
    }
    const connection = new Connection(socket, {
      sessions,
      anomalies,
      counters: connectionCounters,
      log,
      maxFrameBytes,
      logEvents: verbose,
      closeTimeoutMs: 2000,
      helloTimeoutMs,
      timers,
    });
    connections.add(connection);
    const closed = new Promise<void>((resolve) =>
      socket.once("close", () => {
        connections.delete(connection);
        closedSockets.delete(closed);
        resolve();
      }),
    );
    closedSockets.add(closed);
  };

  const listener = await listenUnixSocket(socketPath, onSocket);
  let legacy: LegacyAdapter | undefined;
  if (legacyOptions !== undefined) {
    legacy = new LegacyAdapter(legacyOptions, {
      sessions,
      registry,
      anomalies,
      catalog,
      timers,
      log,
      counters: connectionCounters,
      liveness,
    });
    try {
      await legacy.listen();
    } catch (error) {
      await listener.close();
      throw error;
    }
  }
  let http: HttpApi | undefined;
  const queries = new ServerQueries({
    registry,
    catalog,
    sessions,
    anomalies,
    sequencerCounters,
    connectionCounters,
    timers,
    version: SERVER_VERSION,
    socketPath,
    startedAtMs: timers.nowMs(),
  });
  if (httpAddress !== undefined) {
    try {
      http = await startHttpApi(queries, httpAddress, log);
    } catch (error) {
      await Promise.all([listener.close(), legacy?.close()]);
      throw error;
    }
  }
  reaper.start();
  log.info({ socketPath, http: http?.url }, "allocwatch server listening");

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      reaper.stop();
      const stopped = Promise.all([listener.close(), http?.close(), legacy?.close()]);
      for (const connection of [...connections]) {
        (connection as SessionPeer).close(
          ServerErrorCode.SHUTTING_DOWN,
          "the allocation server is shutting down",
        );
      }
      await Promise.all([stopped, ...closedSockets]);
      for (const session of [...sessions.values()]) sessions.release(session, "server-shutdown");
      log.info("allocwatch server stopped");
      log.flush?.();
    })();
    return closing;
  };

  return {
    socketPath,
    httpAddress: http?.address,
    httpUrl: http?.url,
    queries,
    sessions,
    log,
    legacy,
    close,
  };
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidOptionError(
      `${name} must be a positive integer (milliseconds or a count), got ${value}`,
    );
  }
  return value;
}

function nonNegativeInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionError(`${name} must be an integer >= 0, got ${value}`);
  }
  return value;
}
