import type { Socket } from "node:net";
import type { Writable } from "node:stream";
import type { Logger } from "pino";
import { encodeLegacyDeviceInfoResponse, encodeLegacyResponse } from "../../protocol/legacy/encoder.js";
import type { LegacyProtocolError } from "../../protocol/legacy/errors.js";
import { LEGACY_DEVICE_COUNT_QUERY, LegacyMessageType } from "../../protocol/legacy/layout.js";
import type { LegacyMessage } from "../../protocol/legacy/message.js";
import { MemoryType } from "../../protocol/memory-type.js";
import { type AnomalyLog, NO_SESSION } from "../anomaly-log.js";
import type { LegacyInfo } from "../api-types.js";
import type { ConnectionCounters } from "../connection.js";
import type { DeviceCatalog } from "../device-catalog.js";
import { listenUnixSocket, type UnixListener } from "../listener.js";
import type { PeerCredentialSource } from "../peer-credentials.js";
import type { Registry } from "../registry.js";
import type { Session } from "../session.js";
import type { SessionTable } from "../session-table.js";
import type { TimerScheduler } from "../timers.js";
import { LegacyConnection, type LegacyConnectionHandler } from "./connection.js";
import { LegacyConnectionIdentity, type ThreadGroupOf } from "./connection-identity.js";
import { legacyDeviceCounters } from "./counters.js";
import { type DiscoverLegacyDevices, LegacyDeviceTable } from "./device-table.js";
import { LegacyKeySpace, type LegacyProcess, LegacyStats } from "./legacy-process.js";
import { LegacySessions } from "./legacy-sessions.js";
import type { LegacyOptions } from "./options.js";
import { type IdentifyProcess, procIdentity } from "./process-identity.js";
import { kernelReport, remainingReport } from "./reports.js";

export interface LegacyAdapterDeps {
  sessions: SessionTable;
  registry: Registry;
  anomalies: AnomalyLog;
  catalog: DeviceCatalog;
  timers: TimerScheduler;
  log: Logger;
  /** Who is at the other end of each connection (the server's one source, also used for native peers). */
  peerCredentials: PeerCredentialSource;
  /** When given, legacy connections count in the server's connection counters too. */
  counters?: ConnectionCounters;
  /** How a pid's start time and name are found (tests inject a fake). Default: /proc. */
  identify?: IdentifyProcess;
  /** How a thread id's process is found (frames naming a thread of the peer). Default: /proc. */
  threadGroupOf?: ThreadGroupOf;
  /** Where DUMP_REMAINING and DUMP_KERNELS print their tables, as the original did. Default: stdout. */
  stdout?: Writable;
  /**
   * Devices found on the host (hardware, tt-metal shared memory): they count as known devices and are
   * accepted in frames, with their preset's capacities when given. Asked at most once a second.
   */
  discoveredDevices?: DiscoverLegacyDevices;
}

/**
 * Serves the original tt-metal allocation protocol (`--legacy-socket`): a drop-in replacement for
 * `allocation_server_poc`. The process at the other end of a connection (the kernel's word, read at
 * accept) becomes a session (source "legacy") in the same session table as native clients, so it shows
 * up in the summary, smi and every monitor, and is reaped like them once its connection closes and its
 * pid is gone. QUERY and DEVICE_INFO_QUERY are answered on the asking connection in its frame layout.
 * Nothing a peer sends closes its connection (docs/PROTOCOL.md L4); what it makes the server hold is
 * bounded (the decoder's frame, the connection's unsent replies, the number of connections).
 */
export class LegacyAdapter implements LegacyConnectionHandler {
  readonly stats = new LegacyStats();
  readonly devices: LegacyDeviceTable;
  private listener: UnixListener | undefined;
  /** Open connections; true once the connection's first quarantine was logged (one line each). */
  private readonly connections = new Map<LegacyConnection, boolean>();
  private readonly memory: LegacySessions;
  private readonly stdout: Writable;
  private stopped = false;
  /**
   * When the chunk being decoded was read, whole ms: the time of every allocation in it (one reading of
   * the clock per chunk, not one per frame; the frames of a chunk arrived together). Whole, so that it
   * travels down to the registry as a small integer: a fractional time is boxed anew (16 bytes) at every
   * call it is passed through, the most garbage the firehose made per frame.
   */
  private chunkAtMs = 0;

  constructor(
    private readonly options: LegacyOptions,
    private readonly deps: LegacyAdapterDeps,
  ) {
    this.stdout = deps.stdout ?? process.stdout;
    const describe = (descriptor: Parameters<DeviceCatalog["describe"]>[0]) => {
      deps.catalog.describe(descriptor, NO_SESSION);
      deps.registry.device(descriptor.deviceId);
    };
    this.devices = new LegacyDeviceTable(
      options.devices,
      deps.discoveredDevices,
      () => deps.timers.nowMs(),
      describe,
    );
    // Configured devices appear in the summary (with capacities) before any legacy client connects.
    for (const descriptor of this.devices.descriptors()) describe(descriptor);
    this.memory = new LegacySessions({
      sessions: deps.sessions,
      anomalies: deps.anomalies,
      timers: deps.timers,
      log: deps.log,
      identify: deps.identify ?? procIdentity,
      devices: this.devices,
      stats: this.stats,
      reorderWindowMs: options.reorderWindowMs,
      maxHeldFrees: options.maxHeldFrees,
    });
  }

  /** Listens on `options.socketPath` (a stale socket file is replaced; a live server there is an error). */
  async listen(): Promise<void> {
    this.listener = await listenUnixSocket(this.options.socketPath, (socket) => this.accept(socket));
    this.deps.log.info(
      {
        legacySocket: this.listener.path,
        frame: this.options.frame,
        devices: this.options.devices.map((d) => `${d.deviceId}=${d.preset.name}`),
        reorderWindowMs: this.options.reorderWindowMs,
        maxConnections: this.options.maxConnections,
      },
      "legacy tt-metal protocol listening",
    );
  }

  /** The summary's `server.legacy`: connections and traffic counts. */
  info(): LegacyInfo {
    const stats = this.stats;
    return {
      socketPath: this.options.socketPath,
      connections: this.connections.size,
      refusedConnections: stats.refusedConnections,
      budgetClosures: stats.budgetClosures,
      quarantines: stats.quarantines,
      allocations: stats.allocations,
      sharedAllocations: stats.sharedAllocations,
      frees: stats.frees,
      sharedFrees: stats.sharedFrees,
      unknownFrees: stats.unknownFrees,
      heldFrees: stats.heldFrees,
      reorderedFrees: stats.reorderedFrees,
    };
  }

  get socketPath(): string {
    return this.options.socketPath;
  }

  /** Open legacy connections (clients and monitors). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** The open connections (tests: unsent replies, pause state). */
  openConnections(): LegacyConnection[] {
    return [...this.connections.keys()];
  }

  /** The legacy process state of a session (tests, reports); undefined for native sessions. */
  processOf(session: Session): LegacyProcess | undefined {
    return this.memory.processOf(session);
  }

  /** Stops listening and closes every legacy connection. */
  async close(): Promise<void> {
    this.stopped = true;
    // The listener's close completes once its connections are gone: close them, then wait.
    const listening = this.listener?.close();
    for (const connection of [...this.connections.keys()]) connection.close();
    await listening;
  }

  /** Takes a socket from the listener (exposed so a test can hand it any duplex socket). */
  accept(socket: Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.options.maxConnections) {
      this.refuse(socket);
      return;
    }
    const credentials = this.deps.peerCredentials;
    const identity = new LegacyConnectionIdentity(
      credentials.of(socket),
      credentials.available,
      this.deps.threadGroupOf,
    );
    const connection = new LegacyConnection(
      socket,
      identity,
      {
        frame: this.options.frame,
        detectIdleMs: this.options.detectIdleMs,
        replyPauseBytes: this.options.replyPauseBytes,
        maxReplyBytes: this.options.maxReplyBytes,
      },
      this,
      this.deps.log,
    );
    this.connections.set(connection, false);
    this.memory.opened(connection);
    if (this.deps.counters !== undefined) {
      this.deps.counters.open++;
      this.deps.counters.accepted++;
    }
  }

  received(): void {
    this.chunkAtMs = Math.floor(this.deps.timers.nowMs());
  }

  message(connection: LegacyConnection, m: LegacyMessage): void {
    switch (m.type) {
      case LegacyMessageType.ALLOC:
        // Buffer type 0..4 is tt-metal's BufferType, numbered as our MemoryType.
        this.memory
          .processFor(connection, m, true)
          ?.allocate(
            LegacyKeySpace.BUFFER,
            m.deviceId,
            m.bufferId,
            m.bufferType,
            m.sizeBytes,
            this.chunkAtMs,
          );
        return;
      case LegacyMessageType.FREE:
        this.memory.processFor(connection, m, false)?.free(LegacyKeySpace.BUFFER, m.deviceId, m.bufferId, -1);
        return;
      case LegacyMessageType.CB_ALLOC:
        this.memory
          .processFor(connection, m, true)
          ?.allocate(LegacyKeySpace.CB, m.deviceId, m.bufferId, MemoryType.CB, m.sizeBytes, this.chunkAtMs);
        return;
      case LegacyMessageType.CB_FREE:
        this.memory
          .processFor(connection, m, false)
          ?.free(LegacyKeySpace.CB, m.deviceId, m.bufferId, m.sizeBytes > 0 ? m.sizeBytes : -1);
        return;
      case LegacyMessageType.KERNEL_LOAD:
        this.memory
          .processFor(connection, m, true)
          ?.allocate(
            LegacyKeySpace.KERNEL,
            m.deviceId,
            m.bufferId,
            MemoryType.KERNEL,
            m.sizeBytes,
            this.chunkAtMs,
          );
        return;
      case LegacyMessageType.KERNEL_UNLOAD:
        this.memory
          .processFor(connection, m, false)
          ?.free(LegacyKeySpace.KERNEL, m.deviceId, m.bufferId, m.sizeBytes > 0 ? m.sizeBytes : -1);
        return;
      case LegacyMessageType.QUERY:
        // A monitor's query makes its device known too (DEVICE_INFO_QUERY(-1) counts it).
        this.devices.accepts(m.deviceId);
        connection.send(
          encodeLegacyResponse(
            connection.frameBytes!,
            m.deviceId,
            legacyDeviceCounters(this.deps.registry, m.deviceId),
          ),
        );
        return;
      case LegacyMessageType.DEVICE_INFO_QUERY:
        connection.send(
          encodeLegacyDeviceInfoResponse(
            connection.frameBytes!,
            m.deviceId,
            m.deviceId === LEGACY_DEVICE_COUNT_QUERY
              ? { numDevices: this.devices.count }
              : { info: this.devices.info(m.deviceId) },
          ),
        );
        return;
      case LegacyMessageType.DUMP_REMAINING:
        this.print(
          connection,
          "DUMP_REMAINING",
          remainingReport(this.deps.registry, this.deps.timers.nowMs()),
        );
        return;
      case LegacyMessageType.DUMP_KERNELS:
        this.print(connection, "DUMP_KERNELS", kernelReport(this.deps.registry, this.deps.timers.nowMs()));
        return;
    }
  }

  badFrame(connection: LegacyConnection, error: LegacyProtocolError): void {
    this.deps.anomalies.record(
      "LEGACY_BAD_FRAME",
      this.memory.subjectOf(connection),
      null,
      `${error.code}: ${error.message} (legacy connection ${connection.id}, stream offset ${error.streamOffset})`,
    );
  }

  quarantined(connection: LegacyConnection, error: LegacyProtocolError): void {
    this.stats.quarantines++;
    this.deps.anomalies.record(
      "LEGACY_QUARANTINE",
      this.memory.subjectOf(connection),
      null,
      `${error.code}: ${error.message} (legacy connection ${connection.id}, stream offset ${error.streamOffset})`,
    );
    if (this.connections.get(connection) !== false) return;
    this.connections.set(connection, true);
    this.deps.log.warn(
      { legacyConnection: connection.id, code: error.code, streamOffset: error.streamOffset },
      `legacy connection lost the frame grid: ${error.message} (logged once per connection; every ` +
        "episode counts as a LEGACY_QUARANTINE anomaly)",
    );
  }

  truncated(connection: LegacyConnection, error: LegacyProtocolError): void {
    this.badFrame(connection, error);
  }

  overBudget(connection: LegacyConnection, unsentBytes: number): void {
    this.stats.budgetClosures++;
    if (this.deps.counters !== undefined) this.deps.counters.budgetClosures++;
    this.deps.log.warn(
      { legacyConnection: connection.id, unsentBytes, maxReplyBytes: this.options.maxReplyBytes },
      "closing a legacy connection that does not read its replies",
    );
  }

  closed(connection: LegacyConnection): void {
    if (!this.connections.delete(connection)) return;
    if (this.deps.counters !== undefined) this.deps.counters.open--;
    this.memory.closed(connection);
  }

  /** Past the connection cap: closed before anything is read (a tt-metal client then dies of SIGPIPE). */
  private refuse(socket: Socket): void {
    this.stats.refusedConnections++;
    socket.on("error", () => {});
    socket.destroy();
    const refused = this.stats.refusedConnections;
    // One line per power of two of refusals: a flood of connections cannot flood the log.
    if ((refused & (refused - 1)) === 0) {
      this.deps.log.warn(
        { open: this.connections.size, refused },
        `legacy connection refused: ${this.options.maxConnections} are open (--legacy-max-connections)`,
      );
    }
  }

  private print(connection: LegacyConnection, report: string, lines: string[]): void {
    this.stdout.write(`${lines.join("\n")}\n`);
    this.deps.log.info(
      { legacyConnection: connection.id, report, lines: lines.length },
      `legacy ${report} report printed to stdout`,
    );
  }
}
