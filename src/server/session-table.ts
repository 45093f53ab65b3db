import type { DeviceDescriptor } from "../protocol/frames.js";
import type { DeviceCatalog } from "./device-catalog.js";
import { ConnectionProtocolError, ServerErrorCode } from "./errors.js";
import type { PeerCredentials } from "./peer-credentials.js";
import {
  Session,
  type SessionDeps,
  type SessionIdentity,
  type SessionPeer,
  type SessionView,
} from "./session.js";

/**
 * What a native HELLO brings besides its claims (docs/PROTOCOL.md §3.1, "Who may join a session").
 * Sources without it (the legacy adapter: one connection per process, session keyed by pid and start
 * time) attach with their own identity only.
 */
export interface HelloProof {
  /** The connecting process as the kernel reports it; undefined where the server cannot know (no addon). */
  kernel: PeerCredentials | undefined;
  /** The HELLO's resume secret (version 2 and later); undefined in a version 1 HELLO. */
  resumeSecret: string | undefined;
}
/** Most device ids one session may announce (over all its HELLOs) unless told otherwise. */
export const DEFAULT_MAX_DEVICES_PER_SESSION = 64;
/**
 * Most sessions (connected or in their reconnect grace) one process may hold unless told otherwise. A
 * process normally has one; a client restarted in-process opens another while the old one waits out its
 * grace period.
 */
export const DEFAULT_MAX_SESSIONS_PER_PROCESS = 16;
/** Most sessions the whole server holds unless told otherwise. */
export const DEFAULT_MAX_SESSIONS = 4096;

/** What the table bounds (docs/SECURITY.md). */
export interface SessionLimits {
  maxDevicesPerSession: number;
  maxSessionsPerProcess: number;
  maxSessions: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxDevicesPerSession: DEFAULT_MAX_DEVICES_PER_SESSION,
  maxSessionsPerProcess: DEFAULT_MAX_SESSIONS_PER_PROCESS,
  maxSessions: DEFAULT_MAX_SESSIONS,
};

/** Why a session's memory was released. */
export type ReleaseReason = "goodbye" | "process-exited" | "grace-expired" | "superseded" | "server-shutdown";

/** What the table tells the rest of the server (reaper, logs). */
export interface SessionTableHooks<S extends SessionView = Session> {
  opened?(session: S, reattached: boolean): void;
  /** One of the session's connections closed (before `idle`, when it was the last). */
  detached?(session: S): void;
  /** The session's last connection closed (the reaper decides what happens next). */
  idle?(session: S): void;
  /** A connection came back to an idle session. */
  reattached?(session: S): void;
  /**
   * About to release the session: its allocations are still live in the registry (leak reports and
   * history read them here). Runs synchronously; it must not change the table.
   */
  releasing?(session: S, reason: ReleaseReason): void;
  /** `allocationsReleased`: live allocations the session held when it was released. */
  released?(session: S, reason: ReleaseReason, allocationsReleased: number): void;
}

/**
 * Every live session by id. `attach` is the one way in for any source (native HELLO, legacy adapter):
 * it creates the session or re-attaches a reconnecting process to its existing one, and records the
 * device descriptors it brings (at most `maxDevicesPerSession` ids per session); `release` forgets the
 * descriptions and device totals that only the session kept alive.
 */
export class SessionTable {
  /** In creation order: the first idle one is the oldest (what a full table gives up first). */
  private readonly byId = new Map<string, Session>();
  /** Sessions of each pid, in creation order. */
  private readonly byPid = new Map<number, Set<Session>>();
  /** The secret each session was opened with (version 2 HELLO); kept here, never in what the API serves. */
  private readonly resumeSecrets = new WeakMap<Session, string>();
  private readonly hooks: SessionTableHooks[] = [];

  constructor(
    private readonly deps: SessionDeps,
    private readonly catalog: DeviceCatalog,
    private readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS,
  ) {}

  /** Adds listeners (several parts of the server listen: reaper, log). */
  listen(hooks: SessionTableHooks): void {
    this.hooks.push(hooks);
  }

  get size(): number {
    return this.byId.size;
  }

  get(sessionId: string): Session | undefined {
    return this.byId.get(sessionId);
  }

  values(): IterableIterator<Session> {
    return this.byId.values();
  }

  /**
   * Attaches `peer` to the session `claimed.sessionId`, creating it if needed. With a `proof` (native
   * HELLO): the claimed pid and start time must be the kernel's (SERVER_PEER_MISMATCH; without the
   * kernel's word only a HELLO with a resume secret is accepted, SERVER_PEER_UNVERIFIED), and joining a
   * live session needs the secret it was opened with (SERVER_RESUME_REFUSED). Always: a live session id
   * presented by another process or source is refused with SERVER_SESSION_CONFLICT, and a HELLO that
   * would announce more than `maxDevicesPerSession` device ids with SERVER_TOO_MANY_DEVICES.
   */
  attach(
    claimed: SessionIdentity,
    devices: readonly DeviceDescriptor[],
    peer: SessionPeer,
    proof?: HelloProof,
  ): Session {
    const identity = proof === undefined ? claimed : verifiedIdentity(claimed, proof);
    let session = this.byId.get(identity.sessionId);
    const reattached = session !== undefined;
    if (session !== undefined) {
      checkSameProcess(session.identity, identity);
      if (proof !== undefined) this.checkResume(session, proof);
    }
    this.checkDeviceLimit(session, devices);
    if (session === undefined) {
      this.makeRoomFor(identity.pid);
      session = new Session(identity, this.deps);
      this.byId.set(identity.sessionId, session);
      const mine = this.byPid.get(identity.pid);
      if (mine === undefined) this.byPid.set(identity.pid, new Set([session]));
      else mine.add(session);
      if (proof?.resumeSecret !== undefined) this.resumeSecrets.set(session, proof.resumeSecret);
    }
    session.announce(devices);
    for (const descriptor of devices) {
      this.catalog.describe(descriptor, session.account);
      this.deps.registry.device(descriptor.deviceId);
    }
    const wasIdle = session.connectionCount === 0;
    session.attach(peer);
    for (const h of this.hooks) h.opened?.(session, reattached);
    if (reattached && wasIdle) for (const h of this.hooks) h.reattached?.(session);
    return session;
  }

  /** A native HELLO may join a live session only with the secret the session was opened with. */
  private checkResume(session: Session, proof: HelloProof): void {
    const secret = this.resumeSecrets.get(session);
    if (secret === undefined) {
      // Opened by a version 1 HELLO, which only a peer the kernel vouched for may send (pid and start time
      // were checked above): only the kernel's word admits another connection to it.
      if (proof.kernel !== undefined) return;
      throw new ConnectionProtocolError(
        ServerErrorCode.RESUME_REFUSED,
        `session ${session.sessionId} has no resume secret and this server cannot verify the connecting process`,
      );
    }
    if (proof.resumeSecret === undefined || !sameSecret(secret, proof.resumeSecret)) {
      throw new ConnectionProtocolError(
        ServerErrorCode.RESUME_REFUSED,
        `session ${session.sessionId} is live: joining it needs its resume secret ` +
          "(clients of one process pass both sessionId and resumeSecret)",
      );
    }
  }

  /**
   * Before a new session of `pid`: past `maxSessionsPerProcess` sessions of that pid, or `maxSessions` in
   * all, the oldest idle one (no connection: waiting out its grace) is released as superseded; when
   * every one is connected, the HELLO is refused with SERVER_TOO_MANY_SESSIONS. Without this, a process
   * opening session after session would make the server hold (and re-check) each for its grace period.
   */
  private makeRoomFor(pid: number): void {
    const mine = this.byPid.get(pid);
    if (mine !== undefined && mine.size >= this.limits.maxSessionsPerProcess) {
      this.supersedeOldestIdle(
        mine.values(),
        `pid ${pid} holds ${mine.size} sessions`,
        "maxSessionsPerProcess",
      );
    }
    if (this.byId.size >= this.limits.maxSessions) {
      this.supersedeOldestIdle(
        this.byId.values(),
        `the server holds ${this.byId.size} sessions`,
        "maxSessions",
      );
    }
  }

  private supersedeOldestIdle(sessions: Iterable<Session>, why: string, limit: string): void {
    for (const session of sessions) {
      if (session.connectionCount === 0) {
        this.release(session, "superseded");
        return;
      }
    }
    throw new ConnectionProtocolError(
      ServerErrorCode.TOO_MANY_SESSIONS,
      `${why}, all connected (the server's ${limit} limit): close one, or reuse its session id and secret`,
    );
  }

  /** Throws SERVER_TOO_MANY_DEVICES when `devices` would bring the session above the limit. */
  private checkDeviceLimit(session: Session | undefined, devices: readonly DeviceDescriptor[]): void {
    const ids = new Set(session?.announcedDevices);
    for (const device of devices) ids.add(device.deviceId);
    if (ids.size <= this.limits.maxDevicesPerSession) return;
    throw new ConnectionProtocolError(
      ServerErrorCode.TOO_MANY_DEVICES,
      `a session may announce at most ${this.limits.maxDevicesPerSession} device ids (this HELLO brings it to ${ids.size}); ` +
        "the server's limit is set with --max-devices-per-session",
    );
  }

  /** A peer's link closed. */
  detach(session: Session, peer: SessionPeer): void {
    const left = session.detach(peer);
    for (const h of this.hooks) h.detached?.(session);
    if (left === 0 && !session.isReleased) for (const h of this.hooks) h.idle?.(session);
  }

  /** Releases the session's memory, closes its connections and forgets it. */
  release(
    session: Session,
    reason: ReleaseReason,
    closeCode: string = ServerErrorCode.SESSION_RELEASED,
  ): void {
    if (session.isReleased) return;
    for (const h of this.hooks) h.releasing?.(session, reason);
    const allocations = session.account.liveAllocations;
    const deviceIds = new Set([...session.announcedDevices, ...session.account.ledgers.keys()]);
    session.release();
    if (this.byId.get(session.sessionId) === session) this.byId.delete(session.sessionId);
    const mine = this.byPid.get(session.pid);
    if (mine?.delete(session) && mine.size === 0) this.byPid.delete(session.pid);
    this.catalog.forget(session.account, deviceIds);
    for (const id of deviceIds) {
      if (this.catalog.get(id) === undefined) this.deps.registry.forgetDeviceIfUnused(id);
    }
    for (const peer of session.connections().slice()) peer.close(closeCode, `session released: ${reason}`);
    for (const h of this.hooks) h.released?.(session, reason, allocations);
  }
}

/** `claimed` checked against the kernel's word, with the start time filled in from it where it was 0. */
function verifiedIdentity(claimed: SessionIdentity, proof: HelloProof): SessionIdentity {
  const kernel = proof.kernel;
  if (kernel === undefined) {
    if (proof.resumeSecret !== undefined) return claimed;
    throw new ConnectionProtocolError(
      ServerErrorCode.PEER_UNVERIFIED,
      "a version 1 HELLO has no resume secret, and this server cannot ask the kernel who is connecting " +
        "(peer credentials unavailable): use a version 2 client",
    );
  }
  if (kernel.pid !== claimed.pid) {
    throw new ConnectionProtocolError(
      ServerErrorCode.PEER_MISMATCH,
      `HELLO says pid ${claimed.pid}, but the connecting process is pid ${kernel.pid}`,
    );
  }
  if (kernel.startTicks === 0 || claimed.processStartTicks === kernel.startTicks) return claimed;
  if (claimed.processStartTicks !== 0) {
    throw new ConnectionProtocolError(
      ServerErrorCode.PEER_MISMATCH,
      `HELLO says process start ${claimed.processStartTicks} ticks, but pid ${kernel.pid} started at ${kernel.startTicks}`,
    );
  }
  return { ...claimed, processStartTicks: kernel.startTicks };
}

/** A live session id is its process's: another pid, start time or source is someone else. */
function checkSameProcess(known: SessionIdentity, identity: SessionIdentity): void {
  if (
    known.pid !== identity.pid ||
    known.source !== identity.source ||
    (known.processStartTicks !== 0 &&
      identity.processStartTicks !== 0 &&
      known.processStartTicks !== identity.processStartTicks)
  ) {
    throw new ConnectionProtocolError(
      ServerErrorCode.SESSION_CONFLICT,
      `session ${identity.sessionId} belongs to pid ${known.pid}; a process must choose its own session id`,
    );
  }
}

/** Compares two secrets in time independent of where they differ. */
function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
