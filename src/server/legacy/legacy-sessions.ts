import type { Logger } from "pino";
import {
  LEGACY_MAX_BUFFER_TYPE,
  LEGACY_MESSAGE_TYPE_NAMES,
  LegacyMessageType,
} from "../../protocol/legacy/layout.js";
import type { LegacyMessage } from "../../protocol/legacy/message.js";
import type { AnomalyKind } from "../anomaly-kind.js";
import { type AnomalyLog, type AnomalySubject, NO_SESSION } from "../anomaly-log.js";
import type { Session, SessionPeer } from "../session.js";
import type { SessionTable } from "../session-table.js";
import type { TimerScheduler } from "../timers.js";
import type { LegacyConnection } from "./connection.js";
import { PID_MISMATCH, plausiblePid } from "./connection-identity.js";
import { type LegacyDeviceTable, MAX_LEARNED_DEVICES } from "./device-table.js";
import { LegacyProcess, type LegacyStats } from "./legacy-process.js";
import { LEGACY_MAX_DEVICE_ID } from "./options.js";
import { type IdentifyProcess, legacySessionId } from "./process-identity.js";

/** The original server's sanity bound on an allocation size: 100 GiB. */
const MAX_LEGACY_SIZE_BYTES = 100 * 1024 * 1024 * 1024;

export interface LegacySessionsDeps {
  sessions: SessionTable;
  anomalies: AnomalyLog;
  timers: TimerScheduler;
  log: Logger;
  identify: IdentifyProcess;
  devices: LegacyDeviceTable;
  stats: LegacyStats;
  reorderWindowMs: number;
  maxHeldFrees: number;
}

/** One legacy process as seen through one connection. */
interface Binding {
  session: Session;
  peer: SessionPeer;
}

let nextPeerId = -1;

/**
 * Which session each memory frame (ALLOC/FREE/CB/KERNEL) of a legacy connection changes, and the checks
 * every such frame needs first (docs/PROTOCOL.md L6): a plausible pid that is the connection's own (or
 * one of its threads), a device legacy clients may use, an id below 2^53 and, for allocations, a size
 * in (0, 100 GiB] and a buffer type 0..4 as the original checked. A session is opened on first sight and
 * detached when its connection closes (the reaper then releases it once the process is gone).
 */
export class LegacySessions {
  private readonly byConnection = new Map<LegacyConnection, Map<number, Binding>>();
  private readonly processes = new WeakMap<Session, LegacyProcess>();
  /**
   * The last frame's connection and process_id, when it named the connection's own process, and the
   * process it resolved to: a process sends its frames in long runs, which then skip the pid checks
   * and three map lookups. Forgotten when the connection closes; not used once the session is released.
   */
  private lastConnection: LegacyConnection | undefined;
  private lastProcessId = 0;
  private lastProcess: LegacyProcess | undefined;
  /** A device id that was accepted (the device table never forgets one), or -1. */
  private acceptedDeviceId = -1;

  constructor(private readonly deps: LegacySessionsDeps) {
    deps.sessions.listen({
      released: (session) => {
        this.processes.get(session)?.release();
        this.processes.delete(session);
      },
    });
  }

  /** A connection was accepted. */
  opened(connection: LegacyConnection): void {
    this.byConnection.set(connection, new Map());
  }

  /** A connection closed: its sessions lose that link (the reaper decides what happens next). */
  closed(connection: LegacyConnection): void {
    if (connection === this.lastConnection) this.forgetLast();
    const bindings = this.byConnection.get(connection);
    if (bindings === undefined) return;
    this.byConnection.delete(connection);
    for (const binding of bindings.values()) {
      if (!binding.session.isReleased) this.deps.sessions.detach(binding.session, binding.peer);
    }
  }

  /** The legacy process state of a session (tests, reports); undefined for native sessions. */
  processOf(session: Session): LegacyProcess | undefined {
    return this.processes.get(session);
  }

  /** Whom an anomaly about the connection concerns: its session, else its peer's pid. */
  subjectOf(connection: LegacyConnection): AnomalySubject {
    const bindings = this.byConnection.get(connection);
    if (bindings !== undefined) for (const b of bindings.values()) return b.session.account;
    const pid = connection.identity.peerPid;
    return pid !== undefined ? { sessionId: "", pid } : NO_SESSION;
  }

  /** The legacy process a memory frame changes, or undefined (the frame is counted and ignored). */
  processFor(connection: LegacyConnection, m: LegacyMessage, allocation: boolean): LegacyProcess | undefined {
    const last = this.lastProcess;
    if (
      connection === this.lastConnection &&
      m.processId === this.lastProcessId &&
      last !== undefined &&
      !last.session.isReleased
    ) {
      return this.validTarget(m, allocation) ? last : undefined;
    }
    const bindings = this.byConnection.get(connection);
    if (bindings === undefined) return undefined;
    if (!plausiblePid(m.processId)) {
      this.anomaly("INVALID_PID", m, `${nameOf(m)} with process_id ${m.processId} (valid: 1..4194304)`);
      return undefined;
    }
    const identity = connection.identity;
    const pid = identity.sessionPid(m.processId);
    if (pid === PID_MISMATCH) {
      const owner = identity.peerPid;
      this.anomaly(
        "LEGACY_PID_MISMATCH",
        m,
        owner === undefined
          ? `${nameOf(m)} names process_id ${m.processId}, but the kernel named no process for legacy ` +
              `connection ${connection.id} (a peer outside the server's pid namespace?); ignored`
          : `${nameOf(m)} names process_id ${m.processId}, but legacy connection ${connection.id} belongs to ` +
              `pid ${owner} (not one of its threads); ignored`,
      );
      return undefined;
    }
    if (!this.validTarget(m, allocation)) return undefined;
    let binding = bindings.get(pid);
    if (binding === undefined || binding.session.isReleased) {
      binding = this.bind(connection, bindings, pid);
      if (binding === undefined) return undefined;
    }
    const session = binding.session;
    let process = this.processes.get(session);
    if (process === undefined) {
      process = new LegacyProcess(session, {
        anomalies: this.deps.anomalies,
        timers: this.deps.timers,
        stats: this.deps.stats,
        reorderWindowMs: this.deps.reorderWindowMs,
        maxHeldFrees: this.deps.maxHeldFrees,
      });
      this.processes.set(session, process);
    }
    // Remembered only for the process itself: a thread id's answer comes from a cache that may forget.
    if (pid === m.processId) {
      this.lastConnection = connection;
      this.lastProcessId = pid;
      this.lastProcess = process;
    }
    return process;
  }

  private validTarget(m: LegacyMessage, allocation: boolean): boolean {
    const deviceId = m.deviceId;
    if (deviceId !== this.acceptedDeviceId) {
      if (!this.deps.devices.accepts(deviceId)) {
        this.anomaly(
          "INVALID_DEVICE_ID",
          m,
          `${nameOf(m)} names device ${deviceId}: not configured or discovered, and not learnable ` +
            `(ids 0..${LEGACY_MAX_DEVICE_ID}, at most ${MAX_LEARNED_DEVICES} learned from traffic)`,
        );
        return false;
      }
      this.acceptedDeviceId = deviceId;
    }
    if (m.bufferId < 0) {
      this.anomaly("INVALID_BUFFER_ID", m, `${nameOf(m)} with a buffer id >= 2^53`);
      return false;
    }
    if (allocation && (m.sizeBytes <= 0 || m.sizeBytes > MAX_LEGACY_SIZE_BYTES)) {
      const size = m.sizeBytes < 0 ? ">= 2^53" : String(m.sizeBytes);
      this.anomaly("INVALID_SIZE", m, `${nameOf(m)} of ${size} bytes (valid: 1 byte .. 100 GiB)`);
      return false;
    }
    if (m.type === LegacyMessageType.ALLOC && m.bufferType > LEGACY_MAX_BUFFER_TYPE) {
      this.anomaly("INVALID_BUFFER_TYPE", m, `ALLOC with buffer_type ${m.bufferType} (valid: 0..4)`);
      return false;
    }
    return true;
  }

  private forgetLast(): void {
    this.lastConnection = undefined;
    this.lastProcessId = 0;
    this.lastProcess = undefined;
  }

  /**
   * Opens (or joins) the session of `pid` for this connection. With peer credentials the start time is
   * the one read at accept, so a process that exited since keeps its identity; without, it is read now.
   */
  private bind(
    connection: LegacyConnection,
    bindings: Map<number, Binding>,
    pid: number,
  ): Binding | undefined {
    const { startTicks: readNow, name } = this.deps.identify(pid);
    const peerCredentials = connection.identity.peer;
    const startTicks =
      peerCredentials !== undefined && peerCredentials.pid === pid ? peerCredentials.startTicks : readNow;
    const peer: SessionPeer = {
      id: nextPeerId--,
      requestResync: () => {
        // The original protocol cannot resend state: nothing to ask for.
      },
      // The session was released (process gone, superseded, shutdown): the connection stays open (closing
      // it would SIGPIPE whoever still writes to it); a later frame opens a new session.
      close: () => {
        if (bindings.get(pid)?.peer === peer) bindings.delete(pid);
      },
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
      const binding = { session, peer };
      bindings.set(pid, binding);
      return binding;
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
}

function nameOf(m: LegacyMessage): string | undefined {
  return LEGACY_MESSAGE_TYPE_NAMES[m.type];
}
