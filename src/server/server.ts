import type { Socket } from "node:net";
import pino, { type Logger } from "pino";
import { VERSION } from "../version.js";
import { AnomalyLogRateLimit } from "./anomaly-log-rate-limit.js";
import type { ByteBudget } from "./byte-budget.js";
import { ConnectionAdmission } from "./connection-admission.js";
import { HardwareDevices } from "./hardware/hardware-devices.js";
import { HistoryOpenError } from "./history/history-errors.js";
import { HistoryRecorder } from "./history/history-recorder.js";
import { HistoryStore } from "./history/history-store.js";
import { HostDevices } from "./host-devices.js";
import { type HttpAddress, type HttpApi, startHttpApi } from "./http-api.js";
import { CLOSE_TIMEOUT_MS, Ingest } from "./ingest.js";
import type { LeakArchive } from "./leaks/leak-archive.js";
import { recordLeaks } from "./leaks/leak-recorder.js";
import { MemoryLeakArchive } from "./leaks/memory-leak-archive.js";
import { LegacyAdapter } from "./legacy/adapter.js";
import { listenUnixSocket } from "./listener.js";
import { LargestFreeBlocks } from "./metrics/largest-free-blocks.js";
import { PrometheusMetrics } from "./metrics/prometheus-metrics.js";
import { type ResolvedServerOptions, resolveServerOptions, type ServerOptions } from "./options.js";
import { RegistryAllocations, type RegistryTotals, ServerQueries, type SessionList } from "./queries.js";
import type { FigureHolders } from "./series/series-view.js";
import { SeriesIncrements } from "./series/series-view.js";
import { UsageSeries } from "./series/usage-series.js";
import type { SessionView } from "./session.js";
import type { SessionTable, SessionTableHooks } from "./session-table.js";
import { startShardedIngest } from "./shards/sharded-ingest.js";
import { LiveStream } from "./stream/live-stream.js";
import { TtShmSource } from "./tt-shm/tt-shm-source.js";

/** The package version (package.json), reported by the HTTP API. */
export const SERVER_VERSION: string = VERSION;

export type { LogLevel, ServerOptions } from "./options.js";

/** A server running in this process. */
export interface RunningServer {
  readonly socketPath: string;
  /** Bound HTTP address (real port when 0 was asked), undefined without HTTP API. */
  readonly httpAddress: HttpAddress | undefined;
  /** e.g. "http://127.0.0.1:7477", undefined without HTTP API. */
  readonly httpUrl: string | undefined;
  /** In-process access to the same answers the HTTP API gives. */
  readonly queries: ServerQueries;
  /**
   * The sessions applied on the main thread: all of them, or with `ingestThreads` > 1 only the legacy
   * adapter's (the others live in the shards; `queries` sees every one).
   */
  readonly sessions: SessionTable;
  readonly log: Logger;
  /** The legacy tt-metal protocol adapter, when `legacy` was given. */
  readonly legacy: LegacyAdapter | undefined;
  /** This host's Tenstorrent cards and their holders, when `hardware` was given. */
  readonly hardware: HardwareDevices | undefined;
  /** The reader of tt-metal's shared-memory regions, when `ttShm` was given. */
  readonly ttShm: TtShmSource | undefined;
  /** What native connections make the server hold (frames not yet complete, replies not yet read). */
  readonly bufferBudget: ByteBudget;
  /** The `/api/v1/stream` clients, undefined without HTTP API. */
  readonly stream: LiveStream | undefined;
  /** What `/metrics` answers, undefined without HTTP API. */
  readonly metrics: PrometheusMetrics | undefined;
  /**
   * The history database, when `history` was given: its `leaks` is the LeakArchive that keeps leak
   * reports across restarts. Closed by `close`.
   */
  readonly history: HistoryStore | undefined;
  /** Stops accepting, sends ERROR(SERVER_SHUTTING_DOWN) to every connection, removes the socket. */
  close(): Promise<void>;
}

/**
 * Builds and starts the whole server: registry, sessions, reaper, Unix socket listener, HTTP API.
 * The CLI's `serve` command, the demo and the tests all start it through this one function.
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const resolved = resolveServerOptions(options);
  const { socketPath, httpAddress, timers, liveness } = resolved;
  const log =
    resolved.logger ??
    pino(
      { level: resolved.logLevel, base: { pid: process.pid } },
      // Synchronous: lines are never lost at exit, and even --verbose is a debugging mode, not a hot path.
      pino.destination({ dest: 2, sync: true }),
    );

  // Buckets are whole seconds of the wall clock; the scheduler's clock may be monotonic (or a test's).
  const series = new UsageSeries(timers, resolved.epochMs, resolved.seriesBudgetBytes);
  // With --ingest-threads N > 1 the sessions live in shards; `ingest` is then the main thread's own
  // shard, which serves the legacy adapter (shards/sharded-ingest.ts).
  let leakArchive: LeakArchive = resolved.leakArchive ?? new MemoryLeakArchive();
  const sharded =
    resolved.ingestThreads > 1
      ? await startShardedIngest(resolved, log, series, () => leakArchive)
      : undefined;
  const ingest = sharded?.ingest ?? new Ingest(resolved, { log, timers, liveness, figures: series });
  const anomalies = sharded?.anomalies ?? ingest.anomalies;
  const mirror = sharded?.mirror;
  const totals: RegistryTotals & FigureHolders = mirror ?? ingest.registry;
  const sessionList: SessionList = mirror ?? ingest.sessions;
  const listenSessions = (hooks: SessionTableHooks<SessionView>) =>
    mirror === undefined ? ingest.sessions.listen(hooks) : mirror.listen(hooks);
  const catalog = mirror?.catalog ?? ingest.catalog;
  const sequencerCounters = mirror?.sequencerCounters ?? ingest.sequencerCounters;
  const connectionCounters = mirror?.connectionCounters ?? ingest.connectionCounters;
  const reorderBudget =
    mirror === undefined
      ? ingest.reorderBudget
      : {
          get usedBytes() {
            return mirror.reorderBytes;
          },
          limitBytes: resolved.reorderBudgetBytes,
        };
  const { registry, sessions } = ingest;
  const anomalyLines = new AnomalyLogRateLimit(log, timers);
  anomalies.onRecord((a) => anomalyLines.write(a));
  listenSessions({
    opened: (s, reattached) =>
      log.info(
        {
          sessionId: s.sessionId,
          clientPid: s.pid,
          name: s.identity.processName,
          connections: s.connectionCount,
        },
        reattached ? "connection joined session" : "session opened",
      ),
    idle: (s) => log.info({ sessionId: s.sessionId, clientPid: s.pid }, "session has no connection left"),
    released: (s, reason, allocations) =>
      log.info({ sessionId: s.sessionId, clientPid: s.pid, reason, allocations }, "session released"),
  });

  const admission = new ConnectionAdmission(
    {
      maxConnections: resolved.maxConnections,
      maxConnectionsPerUid: resolved.maxConnectionsPerUid,
      closeTimeoutMs: CLOSE_TIMEOUT_MS,
    },
    resolved.peerCredentials,
    log,
  );
  const bufferBudget = ingest.bufferBudget;
  let shuttingDown = false;
  const onSocket = (socket: Socket) => {
    if (shuttingDown) {
      socket.destroy();
      return;
    }
    // Sharded, a connection counts until its shard says it closed (the socket may move to a worker).
    const admitted = admission.admit(socket, sharded === undefined ? {} : { releaseOn: "manual" });
    if (admitted === undefined) return;
    if (sharded === undefined) ingest.accept(socket, admitted.peer);
    else sharded.accept(socket, admitted.peer, admitted.release);
  };

  const hardware =
    resolved.hardware === undefined
      ? undefined
      : new HardwareDevices({
          log,
          devRoot: resolved.hardware.devRoot,
          scanIntervalMs: resolved.hardware.scanIntervalMs,
          timers,
        });
  const ttShm =
    resolved.ttShm === undefined
      ? undefined
      : new TtShmSource({
          logger: log,
          directory: resolved.ttShm.dir,
          intervalMs: resolved.ttShm.scanIntervalMs,
          timers,
        });
  const host = new HostDevices({ hardware, ttShm });

  // Sockets handed to worker threads must not be read here first (shards/shard-pool.ts).
  const listener = await listenUnixSocket(socketPath, onSocket, {
    pauseOnConnect: sharded !== undefined && !resolved.shardsOnMainThread,
  });
  // Opened once the socket is ours (a second server is refused for its socket first), before any
  // connection is read: this runs synchronously after the bind.
  let historyStore: HistoryStore | undefined;
  try {
    historyStore = openHistory(resolved.history, resolved.epochMs(), log);
  } catch (error) {
    await listener.close();
    throw error;
  }
  const historyRecorder =
    historyStore === undefined
      ? undefined
      : new HistoryRecorder({
          store: historyStore,
          registry: totals,
          series,
          timers,
          epochMs: resolved.epochMs,
          log,
        });
  // Leak reports outlive the server in the history database when there is one.
  leakArchive = resolved.leakArchive ?? historyStore?.leaks ?? leakArchive;
  // Sharded, the main thread's shard and the workers build their reports and the mirror saves them.
  if (sharded === undefined) {
    recordLeaks(sessions, registry, leakArchive, { timers, epochMs: resolved.epochMs }, log);
  }
  if (historyRecorder !== undefined) {
    listenSessions(historyRecorder.sessionHooks());
    anomalies.onRecord((a) => historyRecorder.anomaly(a));
  }
  let legacy: LegacyAdapter | undefined;
  if (resolved.legacy !== undefined) {
    legacy = new LegacyAdapter(resolved.legacy, {
      sessions,
      registry,
      anomalies: ingest.anomalies,
      catalog: ingest.catalog,
      timers,
      log,
      counters: ingest.connectionCounters,
      peerCredentials: resolved.peerCredentials,
      stdout: resolved.stdout,
      // Cards and shared-memory regions count as devices for DEVICE_INFO and may be named in frames.
      ...(host.enabled ? { discoveredDevices: () => host.discoveredDevices() } : {}),
    });
    try {
      await legacy.listen();
    } catch (error) {
      await listener.close();
      historyStore?.close();
      throw error;
    }
  }
  let http: HttpApi | undefined;
  let stream: LiveStream | undefined;
  let metrics: PrometheusMetrics | undefined;
  let freeBlocks: LargestFreeBlocks | undefined;
  const queries: ServerQueries = new ServerQueries({
    registry: totals,
    allocationQueries:
      sharded?.allocations ??
      new RegistryAllocations(
        registry,
        catalog,
        sessions,
        host.enabled ? (id) => queries.deviceSummary(id) : undefined,
      ),
    catalog,
    sessions: sessionList,
    anomalies,
    sequencerCounters,
    connectionCounters,
    reorderBudget,
    timers,
    version: SERVER_VERSION,
    socketPath,
    startedAtMs: timers.nowMs(),
    host: host.enabled ? host : undefined,
    configuredDeviceIds: new Set(resolved.legacy?.devices.map((d) => d.deviceId) ?? []),
    series,
    leakArchive,
    history: historyStore,
    epochMs: resolved.epochMs,
    ingestThreads: sharded?.host.size ?? 1,
    ...(legacy !== undefined ? { legacy: () => legacy!.info() } : {}),
  });
  if (httpAddress !== undefined) {
    try {
      const increments = new SeriesIncrements(totals, series);
      stream = new LiveStream(
        {
          summary: () => queries.summary(),
          seriesChanged: () => increments.changed(),
          takeSeries: () => increments.take(),
          restartSeries: () => increments.restart(),
        },
        timers,
        resolved.streamLimits,
      );
      freeBlocks = new LargestFreeBlocks(
        {
          deviceIds: () => new Set([...catalog.ids(), ...[...totals.devices()].map((d) => d.deviceId)]),
          changeMark: () => `${totals.eventsApplied}/${totals.liveAllocations}/${[...catalog.ids()].length}`,
          memoryMap: (deviceId, type) => queries.memoryMap(deviceId, type, 1),
        },
        timers,
      );
      const blocks = freeBlocks;
      metrics = new PrometheusMetrics(
        { summary: () => queries.summary(), largestFreeBlocks: () => blocks.current() },
        { maxProcessSeries: resolved.maxMetricsProcessSeries },
      );
      http = await startHttpApi(
        queries,
        httpAddress,
        log,
        { public: resolved.httpPublic, allowHosts: resolved.httpAllowHosts },
        stream,
        metrics,
      );
    } catch (error) {
      await Promise.all([listener.close(), legacy?.close()]);
      historyStore?.close();
      throw error;
    }
  }
  if (sharded === undefined) ingest.reaper.start();
  else sharded.start();
  series.start();
  freeBlocks?.start();
  historyRecorder?.start();
  hardware?.start();
  ttShm?.start();
  log.info({ socketPath, http: http?.url, history: historyStore?.path }, "allocwatch server listening");
  if (!resolved.peerCredentials.available) {
    log.warn(
      { reason: resolved.peerCredentials.unavailableReason },
      "peer credentials unavailable: HELLO pids are not checked against the kernel, version 1 clients " +
        "are refused, and connections count as one uid for --max-connections-per-uid",
    );
  }

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shuttingDown = true;
      series.stop();
      freeBlocks?.stop();
      hardware?.stop();
      ttShm?.stop();
      const stopped = Promise.all([listener.close(), http?.close(), legacy?.close()]);
      if (sharded === undefined) {
        ingest.reaper.stop();
        await Promise.all([stopped, ingest.closeConnections()]);
        ingest.releaseAll();
      } else {
        await Promise.all([stopped, sharded.close()]);
      }
      // After the releases: their lifetimes (and leak reports) are written before the database closes.
      historyRecorder?.close();
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
    hardware,
    ttShm,
    bufferBudget,
    stream,
    metrics,
    history: historyStore,
    close,
  };
}

/**
 * The history database of `options`, or undefined without. One that cannot be used throws
 * HistoryOpenError, unless `ifUnusable` is "warn" (serve's default file): then a warning is logged and
 * the server runs without history.
 */
function openHistory(
  options: ResolvedServerOptions["history"],
  nowMs: number,
  log: Logger,
): HistoryStore | undefined {
  if (options === undefined) return undefined;
  try {
    return HistoryStore.open(options.path, options.retentionMs, nowMs);
  } catch (error) {
    if (options.ifUnusable === "refuse" || !(error instanceof HistoryOpenError)) throw error;
    log.warn({ code: error.code, path: options.path }, `${error.message}; running without history`);
    return undefined;
  }
}
