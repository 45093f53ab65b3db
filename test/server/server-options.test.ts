// startServer's options are checked once, before anything is bound: every invalid option is refused
// with the stable code SERVER_INVALID_OPTION and a message that names it and says what is allowed.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_UID,
} from "../../src/server/connection-admission.js";
import { InvalidOptionError, ServerErrorCode } from "../../src/server/errors.js";
import { DEFAULT_MAX_PROCESS_SERIES } from "../../src/server/metrics/prometheus-metrics.js";
import {
  DEFAULT_BUFFER_BUDGET_BYTES,
  DEFAULT_HELLO_TIMEOUT_MS,
  DEFAULT_MAX_OUTBOUND_BYTES,
  resolveServerOptions,
  type ServerOptions,
} from "../../src/server/options.js";
import { DEFAULT_REAPER_OPTIONS } from "../../src/server/reaper.js";
import { DEFAULT_REORDER_BUDGET_BYTES } from "../../src/server/reorder-budget.js";
import { DEFAULT_SEQUENCER_OPTIONS } from "../../src/server/sequencer.js";
import { DEFAULT_SERIES_BUDGET_BYTES } from "../../src/server/series/usage-series.js";
import { startServer } from "../../src/server/server.js";
import {
  DEFAULT_MAX_DEVICES_PER_SESSION,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_SESSIONS_PER_PROCESS,
} from "../../src/server/session-table.js";
import { DEFAULT_STREAM_LIMITS } from "../../src/server/stream/live-stream.js";
import { systemTimers } from "../../src/server/timers.js";

const invalid: [string, ServerOptions, RegExp][] = [
  ["negative grace", { graceMs: -1 }, /graceMs \(--grace-ms\) must be a whole number of milliseconds >= 0/],
  ["fractional grace", { graceMs: 1.5 }, /graceMs .*>= 0.*got 1\.5/],
  ["zero gap timeout", { gapTimeoutMs: 0 }, /gapTimeoutMs \(--gap-timeout-ms\) must be .* >= 1/],
  ["NaN gap timeout", { gapTimeoutMs: Number.NaN }, /gapTimeoutMs .*got NaN/],
  [
    "zero sweep interval",
    { sweepIntervalMs: 0 },
    /sweepIntervalMs must be a whole number of milliseconds >= 1/,
  ],
  [
    "reorder capacity not a power of two",
    { reorderCapacity: 1000 },
    /reorderCapacity must be a power of two/,
  ],
  ["reorder capacity too large", { reorderCapacity: 2 ** 25 }, /reorderCapacity .*2\^24/],
  [
    "negative reorder capacity",
    { reorderCapacity: -4 },
    /reorderCapacity must be a whole number of events >= 1/,
  ],
  [
    "zero reorder budget",
    { reorderBudgetBytes: 0 },
    /reorderBudgetBytes \(--reorder-budget-bytes\) must be a whole number of bytes >= 1/,
  ],
  [
    "zero devices per session",
    { maxDevicesPerSession: 0 },
    /maxDevicesPerSession \(--max-devices-per-session\) must be a whole number of devices >= 1/,
  ],
  [
    "zero sessions per process",
    { maxSessionsPerProcess: 0 },
    /maxSessionsPerProcess \(--max-sessions-per-process\) must be a whole number of sessions >= 1/,
  ],
  [
    "fractional session limit",
    { maxSessions: 2.5 },
    /maxSessions \(--max-sessions\) must be a whole number of sessions >= 1/,
  ],
  [
    "too many devices per session",
    { maxDevicesPerSession: 65536 },
    /maxDevicesPerSession \(--max-devices-per-session\) must be at most 65535/,
  ],
  ["frame limit too small", { maxFrameBytes: 16 }, /maxFrameBytes must be in \d+\.\.\d+ bytes/],
  ["frame limit too large", { maxFrameBytes: 2 ** 21 }, /maxFrameBytes must be in/],
  [
    "zero hello timeout",
    { helloTimeoutMs: 0 },
    /helloTimeoutMs \(--hello-timeout-ms\) must be a whole number of milliseconds >= 1/,
  ],
  [
    "zero buffer budget",
    { bufferBudgetBytes: 0 },
    /bufferBudgetBytes \(--buffer-budget-bytes\) must be a whole number of bytes >= 1/,
  ],
  [
    "buffer budget below one frame",
    { bufferBudgetBytes: 4096, maxFrameBytes: 8192 },
    /bufferBudgetBytes \(--buffer-budget-bytes\) must be at least maxFrameBytes \(8192\).*got 4096/,
  ],
  [
    "fractional outbound limit",
    { maxOutboundBytes: 1.5 },
    /maxOutboundBytes \(--max-outbound-bytes\) must be a whole number of bytes >= 1/,
  ],
  [
    "negative recent anomalies",
    { recentAnomalies: -1 },
    /recentAnomalies must be a whole number of anomalies >= 0/,
  ],
  ["http not an address", { http: "localhost" }, /--http must be HOST:PORT/],
  ["http port out of range", { http: "127.0.0.1:70000" }, /--http must be HOST:PORT/],
  ["http object without a host", { http: { host: "", port: 1 } }, /http must be \{ host, port \}/],
  ["http object port out of range", { http: { host: "::1", port: -1 } }, /http must be \{ host, port \}/],
  ["empty socket path", { socketPath: "" }, /socketPath \(--socket\) must not be empty/],
  [
    "unknown log level",
    { logLevel: "loud" as never },
    /logLevel must be one of silent, error, warn, info, debug/,
  ],
  ["legacy options", { legacy: { socketPath: "" } }, /legacy socketPath must be a non-empty path/],
  [
    "zero connections",
    { maxConnections: 0 },
    /maxConnections \(--max-connections\) must be a whole number of connections >= 1/,
  ],
  [
    "fractional connections per uid",
    { maxConnectionsPerUid: 2.5 },
    /maxConnectionsPerUid \(--max-connections-per-uid\) must be a whole number .*got 2\.5/,
  ],
  [
    "a negative series budget",
    { seriesBudgetBytes: -1 },
    /seriesBudgetBytes \(--series-budget-bytes\) must be a whole number of bytes >= 0/,
  ],
  [
    "a stream limit of 0",
    { streamLimits: { maxClients: 0 } },
    /streamLimits\.maxClients \(--max-stream-clients\) must be a positive integer, got 0/,
  ],
  [
    "a fractional stream tick",
    { streamLimits: { tickMs: 2.5 } },
    /streamLimits\.tickMs must be a positive integer, got 2\.5/,
  ],
  [
    "more connections per uid than in all",
    { maxConnections: 8, maxConnectionsPerUid: 9 },
    /maxConnectionsPerUid \(--max-connections-per-uid\) 9 is above maxConnections \(--max-connections\) 8/,
  ],
  [
    "zero live allocations",
    { maxLiveAllocations: 0 },
    /maxLiveAllocations \(--max-live-allocations\) must be a whole number of allocations >= 1 .*got 0/,
  ],
  [
    "fractional live allocations per session",
    { maxLiveAllocationsPerSession: 1.5 },
    /maxLiveAllocationsPerSession \(--max-live-allocations-per-session\) must be a whole number .*got 1\.5/,
  ],
  [
    "more live allocations per session than in all",
    { maxLiveAllocations: 100, maxLiveAllocationsPerSession: 101 },
    /maxLiveAllocationsPerSession \(--max-live-allocations-per-session\) 101 is above maxLiveAllocations \(--max-live-allocations\) 100/,
  ],
];

test("a server-wide live-allocation limit below the per-session default lowers that default to it", () => {
  const resolved = resolveServerOptions({ socketPath: "/tmp/x.sock", maxLiveAllocations: 1000 });
  assert.equal(resolved.maxLiveAllocations, 1000);
  assert.equal(resolved.maxLiveAllocationsPerSession, 1000);
});

invalid.push(
  ["ingest threads 0", { ingestThreads: 0 }, /ingestThreads \(--ingest-threads\)/],
  [
    "ingest threads past the most",
    { ingestThreads: 65 },
    /ingestThreads \(--ingest-threads\) must be at most 64/,
  ],
);

for (const [name, options, message] of invalid) {
  test(`refused: ${name}`, () => {
    assert.throws(
      () => resolveServerOptions(options),
      (err: unknown) => {
        assert.ok(err instanceof InvalidOptionError, String(err));
        assert.equal(err.code, ServerErrorCode.INVALID_OPTION);
        assert.equal(err.code, "SERVER_INVALID_OPTION");
        assert.match(err.message, message);
        return true;
      },
    );
  });
}

test("startServer refuses an invalid option before binding anything", async () => {
  await assert.rejects(startServer({ socketPath: "", http: false }), { code: "SERVER_INVALID_OPTION" });
});

test("defaults fill every option left out", () => {
  const resolved = resolveServerOptions({ socketPath: "/tmp/x.sock" });
  assert.deepEqual(
    { ...resolved, liveness: undefined, peerCredentials: undefined, leakArchive: undefined },
    {
      socketPath: "/tmp/x.sock",
      httpAddress: { host: "127.0.0.1", port: 7477 },
      httpPublic: false,
      httpAllowHosts: [],
      graceMs: DEFAULT_REAPER_OPTIONS.graceMs,
      gapTimeoutMs: DEFAULT_SEQUENCER_OPTIONS.gapTimeoutMs,
      reorderCapacity: DEFAULT_SEQUENCER_OPTIONS.reorderCapacity,
      reorderBudgetBytes: DEFAULT_REORDER_BUDGET_BYTES,
      maxDevicesPerSession: DEFAULT_MAX_DEVICES_PER_SESSION,
      maxContextsPerSession: 4096,
      maxLiveAllocations: 8_388_608,
      maxLiveAllocationsPerSession: 2_097_152,
      leakArchive: undefined,
      maxSessionsPerProcess: DEFAULT_MAX_SESSIONS_PER_PROCESS,
      maxSessions: DEFAULT_MAX_SESSIONS,
      sweepIntervalMs: DEFAULT_REAPER_OPTIONS.sweepIntervalMs,
      maxFrameBytes: 1024 * 1024,
      helloTimeoutMs: DEFAULT_HELLO_TIMEOUT_MS,
      bufferBudgetBytes: DEFAULT_BUFFER_BUDGET_BYTES,
      maxOutboundBytes: DEFAULT_MAX_OUTBOUND_BYTES,
      recentAnomalies: 256,
      maxConnections: DEFAULT_MAX_CONNECTIONS,
      maxConnectionsPerUid: DEFAULT_MAX_CONNECTIONS_PER_UID,
      ingestThreads: 1,
      shardsOnMainThread: false,
      peerCredentials: undefined,
      logLevel: "info",
      verbose: false,
      logger: undefined,
      legacy: undefined,
      ttShm: undefined,
      hardware: undefined,
      // startServer keeps no history unless given (tests and embedders write nothing).
      history: undefined,
      stdout: undefined,
      liveness: undefined,
      timers: systemTimers,
      streamLimits: DEFAULT_STREAM_LIMITS,
      seriesBudgetBytes: DEFAULT_SERIES_BUDGET_BYTES,
      maxMetricsProcessSeries: DEFAULT_MAX_PROCESS_SERIES,
      epochMs: Date.now,
    },
  );
  assert.equal(typeof resolved.liveness.isAlive, "function");
  assert.equal(resolved.leakArchive, undefined, "the server picks: the history database's, else in memory");
  assert.equal(typeof resolved.peerCredentials.of, "function");
});

test("given values are kept; verbose means debug; http false means no HTTP API", () => {
  const resolved = resolveServerOptions({
    socketPath: "/tmp/y.sock",
    http: false,
    graceMs: 0,
    gapTimeoutMs: 5,
    reorderCapacity: 1,
    reorderBudgetBytes: 4096,
    maxDevicesPerSession: 1,
    recentAnomalies: 0,
    logLevel: "warn",
    verbose: true,
  });
  assert.equal(resolved.httpAddress, undefined);
  assert.equal(resolved.graceMs, 0);
  assert.equal(resolved.gapTimeoutMs, 5);
  assert.equal(resolved.reorderCapacity, 1);
  assert.equal(resolved.reorderBudgetBytes, 4096);
  assert.equal(resolved.maxDevicesPerSession, 1);
  assert.equal(resolved.recentAnomalies, 0);
  assert.equal(resolved.logLevel, "debug");
  assert.deepEqual(resolveServerOptions({ socketPath: "/s", http: "[::1]:0" }).httpAddress, {
    host: "::1",
    port: 0,
  });
});

test("connection caps: the per-uid cap defaults to the total cap when that is lower", () => {
  assert.equal(resolveServerOptions({ socketPath: "/s", maxConnections: 10 }).maxConnectionsPerUid, 10);
  const both = resolveServerOptions({ socketPath: "/s", maxConnections: 300, maxConnectionsPerUid: 300 });
  assert.deepEqual([both.maxConnections, both.maxConnectionsPerUid], [300, 300]);
});
