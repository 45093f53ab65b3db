import type { Socket } from "node:net";
import type { Logger } from "pino";
import { encodeLegacyDeviceInfoResponse, encodeLegacyResponse } from "../../protocol/legacy/encoder.js";
import type { LegacyProtocolError } from "../../protocol/legacy/errors.js";
import {
  LEGACY_DEVICE_COUNT_QUERY,
  LEGACY_MAX_BUFFER_TYPE,
  LEGACY_MESSAGE_TYPE_NAMES,
  LegacyMessageType,
} from "../../protocol/legacy/layout.js";
import type { LegacyMessage } from "../../protocol/legacy/message.js";
import { MemoryType } from "../../protocol/memory-type.js";
import type { AnomalyKind } from "../anomaly-kind.js";
import { type AnomalyLog, type AnomalySubject, NO_SESSION } from "../anomaly-log.js";
import type { ConnectionCounters } from "../connection.js";
import type { DeviceCatalog } from "../device-catalog.js";
import { listenUnixSocket, type UnixListener } from "../listener.js";
import { type ProcessLiveness, procLiveness } from "../process-liveness.js";
import type { Registry } from "../registry.js";
import type { Session, SessionPeer } from "../session.js";
import type { SessionTable } from "../session-table.js";
import type { TimerScheduler } from "../timers.js";
import { LegacyConnection, type LegacyConnectionHandler } from "./connection.js";
import { legacyDeviceCounters } from "./counters.js";
import { LegacyDeviceTable } from "./device-table.js";
import { LegacyKeySpace, LegacyProcess, LegacyStats } from "./legacy-process.js";
import type { LegacyOptions } from "./options.js";
import { type IdentifyProcess, legacySessionId, procIdentity } from "./process-identity.js";
import { kernelReport, remainingReport } from "./reports.js";

/** The original server's sanity bound on an allocation size: 100 GiB. */
const MAX_LEGACY_SIZE_BYTES = 100 * 1024 * 1024 * 1024;

export interface LegacyAdapterDeps {
  sessions: SessionTable;
  registry: Registry;
  anomalies: AnomalyLog;
  catalog: DeviceCatalog;
  timers: TimerScheduler;
  log: Logger;
  /** When given, legacy connections count in the server's connection counters too. */
  counters?: ConnectionCounters;
  /** How a pid's start time and name are found (tests inject a fake). Default: /proc. */
  identify?: IdentifyProcess;
  /** The reaper's liveness check, so that a pid it would reap at once never opens a session. */
  liveness?: ProcessLiveness;
}

/** One legacy process as seen through one connection. */
interface Binding {
  session: Session;
  peer: SessionPeer;
}

let nextPeerId = -1;

/**
 * Serves the original tt-metal allocation protocol (`--legacy-socket`): a drop-in replacement for
 * `allocation_server_poc`. Each pid seen in ALLOC/FREE/CB/KERNEL frames becomes a session (source
 * "legacy") in the same session table as native clients, so it shows up in the summary, smi and every
 * monitor, and is reaped like them (its connection closed and its pid gone). QUERY and DEVICE_INFO_QUERY
 * are answered on the asking connection in that connection's frame layout.
 */
export class LegacyAdapter implements LegacyConnectionHandler {
  readonly stats = new LegacyStats();
  readonly devices: LegacyDeviceTable;
  private listener: UnixListener | undefined;
  private readonly connections = new Map<LegacyConnection, Map<number, Binding>>();
  private readonly processes = new WeakMap<Session, LegacyProcess>();
  private readonly identify: IdentifyProcess;
  private readonly liveness: ProcessLiveness;
  private stopped = false;

  constructor(
    private readonly options: LegacyOptions,
    private readonly deps: LegacyAdapterDeps,
  ) {
    this.devices = new LegacyDeviceTable(options.devices);
    this.identify = deps.identify ?? procIdentity;
    this.liveness = deps.liveness ?? procLiveness;
    // Configured devices appear in the summary (with capacities) before any legacy client connects.
    for (const descriptor of this.devices.descriptors()) {
      deps.catalog.describe(descriptor, NO_SESSION);
      deps.registry.device(descriptor.deviceId);
    }
    deps.sessions.listen({
      released: (session) => {
        this.processes.get(session)?.release();
        this.processes.delete(session);
      },
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
      },
      "legacy tt-metal protocol listening",
    );
  }

  get socketPath(): string {
    return this.options.socketPath;
  }

  /** Open legacy connections (clients and monitors). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** The legacy process state of a session (tests, reports); undefined for native sessions. */
  processOf(session: Session): LegacyProcess | undefined {
    return this.processes.get(session);
  }

  /** Stops listening and closes every legacy connection. */
  async close(): Promise<void> {
    this.stopped = true;
    await this.listener?.close();
    for (const connection of [...this.connections.keys()]) connection.close();
  }

  /** Takes a socket from the listener (exposed so a test can hand it any duplex socket). */
  accept(socket: Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    const connection = new LegacyConnection(
      socket,
      {
        frame: this.options.frame,
        maxBadFrames: this.options.maxBadFrames,
        detectIdleMs: this.options.detectIdleMs,
      },
      this,
      this.deps.log,
    );
    this.connections.set(connection, new Map());
    if (this.deps.counters !== undefined) {
      this.deps.counters.open++;
      this.deps.counters.accepted++;
    }
  }

  message(connection: LegacyConnection, m: LegacyMessage): void {
    switch (m.type) {
      case LegacyMessageType.ALLOC:
        if (!this.validTarget(m, true)) return;
        if (m.bufferType > LEGACY_MAX_BUFFER_TYPE) {
          this.anomaly("INVALID_BUFFER_TYPE", m, `ALLOC with buffer_type ${m.bufferType} (valid: 0..4)`);
          return;
        }
        // Buffer type 0..4 is tt-metal's BufferType, numbered as our MemoryType.
        this.process(connection, m)?.allocate(
          LegacyKeySpace.BUFFER,
          m.deviceId,
          m.bufferId,
          m.bufferType,
          m.sizeBytes,
        );
        return;
      case LegacyMessageType.FREE:
        if (!this.validTarget(m, false)) return;
        this.process(connection, m)?.free(LegacyKeySpace.BUFFER, m.deviceId, m.bufferId, -1);
        return;
      case LegacyMessageType.CB_ALLOC:
        if (!this.validTarget(m, true)) return;
        this.process(connection, m)?.allocate(
          LegacyKeySpace.CB,
          m.deviceId,
          m.bufferId,
          MemoryType.CB,
          m.sizeBytes,
        );
        return;
      case LegacyMessageType.CB_FREE:
        if (!this.validTarget(m, false)) return;
        this.process(connection, m)?.free(
          LegacyKeySpace.CB,
          m.deviceId,
          m.bufferId,
          m.sizeBytes > 0 ? m.sizeBytes : -1,
        );
        return;
      case LegacyMessageType.KERNEL_LOAD:
        if (!this.validTarget(m, true)) return;
        this.process(connection, m)?.allocate(
          LegacyKeySpace.KERNEL,
          m.deviceId,
          m.bufferId,
          MemoryType.KERNEL,
          m.sizeBytes,
        );
        return;
      case LegacyMessageType.KERNEL_UNLOAD:
        if (!this.validTarget(m, false)) return;
        this.process(connection, m)?.free(
          LegacyKeySpace.KERNEL,
          m.deviceId,
          m.bufferId,
          m.sizeBytes > 0 ? m.sizeBytes : -1,
        );
        return;
      case LegacyMessageType.QUERY:
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
        this.deps.log.info(
          { legacyConnection: connection.id, report: "DUMP_REMAINING" },
          remainingReport(this.deps.registry, this.deps.timers.nowMs()).join("\n"),
        );
        return;
      case LegacyMessageType.DUMP_KERNELS:
        this.deps.log.info(
          { legacyConnection: connection.id, report: "DUMP_KERNELS" },
          kernelReport(this.deps.registry, this.deps.timers.nowMs()).join("\n"),
        );
        return;
    }
  }

  badFrame(connection: LegacyConnection, error: LegacyProtocolError): void {
    this.deps.anomalies.record(
      "LEGACY_BAD_FRAME",
      this.subjectOf(connection),
      null,
      `${error.code}: ${error.message} (legacy connection ${connection.id}, stream offset ${error.streamOffset})`,
    );
    this.deps.log.warn({ legacyConnection: connection.id, code: error.code }, error.message);
  }

  failed(connection: LegacyConnection, error: LegacyProtocolError): void {
    if (this.deps.counters !== undefined) this.deps.counters.protocolErrors++;
    this.deps.anomalies.record(
      "PROTOCOL_ERROR",
      this.subjectOf(connection),
      null,
      `${error.code}: ${error.message} (legacy connection ${connection.id}, stream offset ${error.streamOffset})`,
    );
    this.deps.log.warn(
      { legacyConnection: connection.id, code: error.code },
      `closing legacy connection: ${error.message}`,
    );
  }

  closed(connection: LegacyConnection): void {
    const bindings = this.connections.get(connection);
    if (bindings === undefined) return;
    this.connections.delete(connection);
    if (this.deps.counters !== undefined) this.deps.counters.open--;
    for (const binding of bindings.values()) {
      if (!binding.session.isReleased) this.deps.sessions.detach(binding.session, binding.peer);
    }
  }

  /**
   * Checks what every frame that names a buffer needs: a device legacy clients may use, an id below
   * 2^53 and, for allocations, a size in (0, 100 GiB] as the original checked.
   */
  private validTarget(m: LegacyMessage, allocation: boolean): boolean {
    const name = LEGACY_MESSAGE_TYPE_NAMES[m.type];
    if (!this.devices.accepts(m.deviceId)) {
      this.anomaly(
        "INVALID_DEVICE_ID",
        m,
        `${name} names device ${m.deviceId}, which is not configured for legacy clients`,
      );
      return false;
    }
    if (m.bufferId < 0) {
      this.anomaly("INVALID_BUFFER_ID", m, `${name} with a buffer id >= 2^53`);
      return false;
    }
    if (allocation && (m.sizeBytes <= 0 || m.sizeBytes > MAX_LEGACY_SIZE_BYTES)) {
      const size = m.sizeBytes < 0 ? ">= 2^53" : String(m.sizeBytes);
      this.anomaly("INVALID_SIZE", m, `${name} of ${size} bytes (valid: 1 byte .. 100 GiB)`);
      return false;
    }
    if (m.processId <= 0) {
      this.anomaly("INVALID_PID", m, `${name} with process_id ${m.processId}`);
      return false;
    }
    return true;
  }

  /** The legacy process for the frame's pid on this connection: its session is opened on first sight. */
  private process(connection: LegacyConnection, m: LegacyMessage): LegacyProcess | undefined {
    const bindings = this.connections.get(connection);
    if (bindings === undefined) return undefined;
    let binding = bindings.get(m.processId);
    if (binding === undefined || binding.session.isReleased) {
      if (!this.liveness.isAlive(m.processId, 0)) {
        // The reaper would release such a session at once (and close this connection with it): a pid
        // from another PID namespace, a made-up one, or frames read after their process exited.
        this.anomaly(
          "INVALID_PID",
          m,
          `${LEGACY_MESSAGE_TYPE_NAMES[m.type]} from process_id ${m.processId}, which is not a running process visible to the server`,
        );
        return undefined;
      }
      binding = this.bind(connection, m.processId);
      if (binding === undefined) return undefined;
      bindings.set(m.processId, binding);
    }
    const session = binding.session;
    let process = this.processes.get(session);
    if (process === undefined) {
      process = new LegacyProcess(session, {
        anomalies: this.deps.anomalies,
        timers: this.deps.timers,
        stats: this.stats,
        reorderWindowMs: this.options.reorderWindowMs,
        maxHeldFrees: this.options.maxHeldFrees,
      });
      this.processes.set(session, process);
    }
    return process;
  }

  private bind(connection: LegacyConnection, pid: number): Binding | undefined {
    const { startTicks, name } = this.identify(pid);
    const peer: SessionPeer = {
      id: nextPeerId--,
      requestResync: () => {
        // The original protocol cannot resend state: nothing to ask for.
      },
      close: () => connection.close(),
    };
    try {
      const session = this.deps.sessions.attach(
        {
          sessionId: legacySessionId(pid, startTicks),
          pid,
          processStartTicks: startTicks,
          processName: name,
          source: "legacy",
        },
        [],
        peer,
      );
      this.deps.log.debug(
        { legacyConnection: connection.id, clientPid: pid, sessionId: session.sessionId },
        "legacy process attached",
      );
      return { session, peer };
    } catch (error) {
      this.deps.log.warn(
        { legacyConnection: connection.id, clientPid: pid, err: error },
        "legacy process refused",
      );
      return undefined;
    }
  }

  private anomaly(kind: AnomalyKind, m: LegacyMessage, detail: string): void {
    this.deps.anomalies.record(kind, { sessionId: "", pid: m.processId }, m.deviceId, detail);
  }

  private subjectOf(connection: LegacyConnection): AnomalySubject {
    const bindings = this.connections.get(connection);
    if (bindings !== undefined) for (const b of bindings.values()) return b.session.account;
    return NO_SESSION;
  }
}
